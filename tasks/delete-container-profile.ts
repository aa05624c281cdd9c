// Tears a container profile down: exactly the containers, volumes and networks that carry the
// profile's labels, listed first (the plan names each), containers before the volumes and the
// network they hold. What kubestrap did not label is never touched.
import { defineTask } from '../core/task.ts';
import type { TaskContext } from '../core/context.ts';
import { endpoint, ENGINE_PARAMS, profileLabels } from './container/common.ts';

async function found(ctx: TaskContext, p: { engine: string; socket: string }) {
  const ep = endpoint(p);
  const labels = profileLabels(ctx.profile);
  const containers = (await ctx.engine(ep, { op: 'container.list', labels })).value as { name: string; state: string }[];
  const volumes = (await ctx.engine(ep, { op: 'volume.list', labels })).value as string[];
  const networks = (await ctx.engine(ep, { op: 'network.list-labelled', labels })).value as string[];
  return { ep, containers, volumes, networks };
}

export default defineTask({
  name: 'delete-container-profile',
  description: 'Remove the containers, volumes and networks labelled with the profile (listed first)',
  params: { ...ENGINE_PARAMS },
  async check(ctx, p) {
    const f = await found(ctx, p);
    return !f.containers.length && !f.volumes.length && !f.networks.length;
  },
  async run(ctx, p) {
    const { ep, containers, volumes, networks } = await found(ctx, p);
    ctx.note(
      'info',
      `profile ${ctx.profile} on ${ep.engine}: containers ${containers.map((c) => `${c.name} (${c.state})`).join(', ') || 'none'}; volumes ${
        volumes.join(', ') || 'none'
      }; networks ${networks.join(', ') || 'none'}`,
    );
    for (const c of containers) await ctx.engine(ep, { op: 'container.remove', name: c.name });
    for (const v of volumes) await ctx.engine(ep, { op: 'volume.remove', name: v });
    for (const n of networks) await ctx.engine(ep, { op: 'network.remove', name: n });
    return { containers: containers.map((c) => c.name), volumes, networks };
  },
});

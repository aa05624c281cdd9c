// The name the cluster reaches its control plane by, resolved on the node through /etc/hosts, so
// certificates and kubeconfigs do not carry an address that DHCP may change.
import type { TaskContext } from '../core/context.ts';
import { placeholder } from '../core/placeholder.ts';
import { defineTask } from '../core/task.ts';
import { controlPlaneName, HOSTS_FILE, mergeHostsEntry } from './k8s/hosts-file.ts';
import { readIfExists } from './k8s/node-facts.ts';
import { fileFact } from '../core/facts.ts';
import { once } from './k8s/once.ts';

const params = { nodeIp: { type: 'string', pattern: '[0-9.]+' } } as const;

async function state(ctx: TaskContext, p: { nodeIp: string }) {
  return once(ctx, 'control-plane-name', async () => {
    const name = controlPlaneName(ctx.profile);
    // A machine a step creates has its own /etc/hosts (a container engine writes one): its lines
    // are known only in the run, where the same merge keeps them.
    if (ctx.createdBy) return { name, now: null, wanted: mergeHostsEntry(placeholder(`the lines of ${HOSTS_FILE} on ${ctx.host}`), name, p.nodeIp) };
    const now = (await readIfExists(ctx, HOSTS_FILE)) ?? '';
    return { name, now, wanted: mergeHostsEntry(now, name, p.nodeIp) };
  });
}

export default defineTask({
  name: 'control-plane-name',
  description: 'Give the control plane a stable name on the node: one line merged into /etc/hosts',
  params,
  facts: () => [fileFact(HOSTS_FILE)],
  async check(ctx, p) {
    const s = await state(ctx, p);
    return s.now === s.wanted;
  },
  outputs: async (ctx, p) => ({ name: (await state(ctx, p)).name }),
  async run(ctx, p) {
    const s = await state(ctx, p);
    await ctx.write(HOSTS_FILE, s.wanted, { mode: '0644', sudo: true });
    return { name: s.name };
  },
});

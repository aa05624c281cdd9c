// The cluster's admin kubeconfig for the user who ran kubestrap: ~/.kube/config owned by that user,
// mode 0600, copied by root in one command (admin.conf is root's). A kubeconfig that was there
// before is kept beside it.
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { readIfExists } from './k8s/node-facts.ts';
import { once } from './k8s/once.ts';
import { ADMIN_CONF, adminContext } from './k8s/paths.ts';

export const BEFORE_SUFFIX = '.before-kubestrap';

export async function userKubeconfig(ctx: TaskContext): Promise<{ dir: string; file: string; backup: string }> {
  const { home } = await ctx.facts();
  return { dir: `${home}/.kube`, file: `${home}/.kube/config`, backup: `${home}/.kube/config${BEFORE_SUFFIX}` };
}

/** kubeadm names the admin context after the cluster, and the cluster after the profile. */
export function isOurs(content: string | null, profile: string): boolean {
  return !!content && new RegExp(`^current-context: ${adminContext(profile).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').test(content);
}

async function state(ctx: TaskContext) {
  return once(ctx, 'kubeconfig', async () => {
    const paths = await userKubeconfig(ctx);
    const current = await readIfExists(ctx, paths.file);
    return { ...paths, current, ours: isOurs(current, ctx.profile) };
  });
}

export default defineTask({
  name: 'user-kubeconfig',
  description: "Copy the cluster's admin kubeconfig to the user's ~/.kube/config (owned by the user, mode 0600)",
  params: {
    adminConf: { type: 'string', default: ADMIN_CONF },
    refresh: { type: 'boolean', default: false, description: 'copy again even if it looks current (after a new kubeadm init)' },
  },
  async check(ctx, p) {
    const s = await state(ctx);
    return !p.refresh && s.ours;
  },
  async run(ctx, p) {
    const s = await state(ctx);
    // The user facts gathered with the host's others; a host that cannot say probes for the group.
    const facts = await ctx.facts();
    const uid = String(facts.uid);
    const gid = facts.gid !== undefined && Number.isInteger(facts.gid) ? String(facts.gid) : (await ctx.probe`id -g`).stdout.trim();
    if (!(await ctx.exists(s.dir))) await ctx.$`mkdir -m 0700 ${s.dir}`;
    if (s.current !== null && !s.ours) {
      if (await ctx.exists(s.backup)) {
        ctx.note(
          'warn',
          `${s.file} belongs to another cluster and ${s.backup} already exists: the current file is replaced without a copy`,
          'merge kubeconfigs with KUBECONFIG=a:b kubectl config view --flatten',
        );
      } else {
        await ctx.$`cp -p ${s.file} ${s.backup}`;
        ctx.note('info', `${s.file} held other clusters' settings: kept as ${s.backup}`);
      }
    }
    await ctx.sudo`install -m 0600 -o ${uid} -g ${gid} ${p.adminConf} ${s.file}`;
    if (ctx.host !== 'local') ctx.note('info', `the kubeconfig is ${s.file} on ${ctx.host}: copy it here (e.g. with scp) to use kubectl from this machine`);
  },
});

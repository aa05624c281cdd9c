// The join command for workers reached over SSH (the VM drivers): made on the control plane with a
// fresh bootstrap token of short lifetime, and handed to the workers' join steps as a secret output,
// so it never appears in a plan, an event, the state file or an error. The command's output is not
// shown as it runs. Done when every worker is already a node of the cluster.
import { defineTask } from '../core/task.ts';
import { binDir, kubeadmPath } from './k8s/paths.ts';
import { parseKubernetesVersion } from './k8s/versions.ts';

/** The worker nodes' names: the profile's, then -m02, -m03, … (the VM drivers' worker machines). */
export function workerNames(profile: string, nodes: number): string[] {
  return Array.from({ length: Math.max(0, nodes - 1) }, (_, i) => `${profile}-m${String(i + 2).padStart(2, '0')}`);
}

function bins(p: { kubernetesVersion: string; binDir: string }): string {
  return p.binDir || binDir(parseKubernetesVersion(p.kubernetesVersion).text);
}

export default defineTask({
  name: 'kubeadm-join-command',
  description: 'Make a join command on the control plane (a fresh bootstrap token) for the workers; it stays a secret',
  params: {
    kubernetesVersion: { type: 'string', description: 'kubeadm and kubectl are where install-kubernetes put them for this version' },
    binDir: { type: 'string', default: '', description: 'where kubeadm and kubectl are instead' },
    nodes: { type: 'number', default: 1, description: 'how many nodes the cluster has: the workers are PROFILE-m02 …' },
    tokenTtl: { type: 'string', default: '15m', pattern: '[0-9]+[smh]', description: 'the bootstrap token expires after this' },
  },
  secretOutputs: ['command'],
  async check(ctx, p) {
    const workers = workerNames(ctx.profile, p.nodes);
    if (!workers.length) return true;
    // The user's kubeconfig on the control plane (user-kubeconfig wrote it): every worker is a node already.
    const config = `${(await ctx.facts()).home}/.kube/config`;
    if (!(await ctx.exists(config))) return false;
    return (await ctx.probe`${bins(p)}/kubectl --kubeconfig ${config} --request-timeout=5s get nodes ${workers} -o name`).ok;
  },
  outputs: () => ({ command: '' }),
  async run(ctx, p) {
    const made = await ctx.declaring({ label: 'kubeadm token create', quiet: true })
      .sudo`env ${kubeadmPath(bins(p))} kubeadm token create --ttl ${p.tokenTtl} --print-join-command`;
    return { command: made.stdout.trim() };
  },
});

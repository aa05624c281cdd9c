// A worker reached over SSH joins the cluster: kubeadm join with the join command the control plane
// made (kubeadm-join-command), fed on stdin so it is never a command-line argument; the plan shows
// the shell variable a reader would set. kubeadm writes its files itself: they are declared, listed
// in the plan and compared after the run, as for kubeadm init.
import { defineTask } from '../core/task.ts';
import { binDir, kubeadmJoinWrites, kubeadmPath, KUBERNETES_DIR } from './k8s/paths.ts';
import { parseKubernetesVersion } from './k8s/versions.ts';
import { JOIN_SCRIPT, JOIN_VAR, joinFlags } from './kubeadm-join.ts';

export default defineTask({
  name: 'kubeadm-join-node',
  description: "Join this worker to the cluster with the control plane's join command (fed on stdin, never shown)",
  params: {
    joinCommand: { type: 'string', secret: true, description: "kubeadm-join-command's output" },
    kubernetesVersion: { type: 'string', description: 'kubeadm is where install-kubernetes put it; which files it writes depends on it' },
    binDir: { type: 'string', default: '', description: 'where kubeadm is instead' },
    nodeName: { type: 'string', pattern: '[a-z0-9][a-z0-9.-]*' },
    runtime: { type: 'string', default: 'containerd', description: "the worker joins with this runtime's CRI socket" },
    // minikube's join ignores every preflight error; the node's own preflight step ran before.
    ignorePreflightErrors: { type: 'string[]', default: ['all'] },
  },
  check: (ctx) => ctx.exists(`${KUBERNETES_DIR}/kubelet.conf`),
  async run(ctx, p) {
    const args = joinFlags(p.nodeName, p.runtime, p.ignorePreflightErrors);
    const v = parseKubernetesVersion(p.kubernetesVersion);
    const bins = p.binDir || binDir(v.text);
    await ctx.declaring({
      label: 'kubeadm join',
      writes: kubeadmJoinWrites(v),
      watch: [KUBERNETES_DIR],
      stdin: { value: p.joinCommand, shownAs: JOIN_VAR },
    }).sudo`env ${kubeadmPath(bins)} sh -c ${JOIN_SCRIPT} kubeadm-join ${`${bins}/kubeadm`} ${args}`;
  },
});

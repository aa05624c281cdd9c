// After kubeadm init: the CNI manifest install-cni put on the node, applied with the cluster's admin
// credentials. Nothing to do for the bridge (configured before init) or --cni false.
import { defineTask } from '../core/task.ts';
import { ADMIN_CONF } from './k8s/paths.ts';

export default defineTask({
  name: 'apply-cni',
  description: 'Apply the CNI manifest (flannel, calico, cilium or your own) with kubectl after kubeadm init',
  params: {
    binDir: { type: 'string', description: 'where install-kubernetes put kubectl' },
    manifest: { type: 'string', default: '', description: "install-cni's manifest on the node; empty: nothing to apply" },
  },
  async check(_ctx, p) {
    return p.manifest === '';
  },
  async run(ctx, p) {
    if (!p.manifest) return;
    await ctx.sudo`${`${p.binDir}/kubectl`} --kubeconfig ${ADMIN_CONF} apply -f ${p.manifest}`;
  },
});

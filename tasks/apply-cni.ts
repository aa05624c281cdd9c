// After kubeadm init: the CNI manifest install-cni put on the node, applied with the cluster's admin
// credentials. Nothing to do for the bridge (configured before init) or --cni false. When the nodes
// talk on a network without the default route (qemu's bus), the CNI's agent is told to use it.
import { defineTask } from '../core/task.ts';
import { hostOf, MANIFESTS, parseCni } from './k8s/cni.ts';
import { ADMIN_CONF } from './k8s/paths.ts';

export default defineTask({
  name: 'apply-cni',
  description: 'Apply the CNI manifest (flannel, calico, cilium or your own) with kubectl after kubeadm init',
  params: {
    binDir: { type: 'string', description: 'where install-kubernetes put kubectl' },
    manifest: { type: 'string', default: '', description: "install-cni's manifest on the node; empty: nothing to apply" },
    cni: { type: 'string', default: 'auto', description: "install-cni's --cni" },
    nodes: { type: 'number', default: 1 },
    nodeSubnet: { type: 'string', default: '', description: "the nodes' network when it is not the default route's; empty: the default route's" },
  },
  async check(_ctx, p) {
    return p.manifest === '';
  },
  async run(ctx, p) {
    if (!p.manifest) return;
    const kubectl = `${p.binDir}/kubectl`;
    await ctx.sudo`${kubectl} --kubeconfig ${ADMIN_CONF} apply -f ${p.manifest}`;
    if (!p.nodeSubnet) return;
    // Any address of the subnet picks its interface: only the route to it is looked up.
    const reach = hostOf(p.nodeSubnet, 1, 'nodeSubnet');
    const cni = parseCni(p.cni, p.nodes);
    const iface = cni.kind === 'manifest' ? MANIFESTS[cni.name].iface : undefined;
    if (iface) {
      await ctx.sudo`${kubectl} --kubeconfig ${ADMIN_CONF} -n ${iface.namespace} set env ${`daemonset/${iface.daemonset}`} -c ${iface.container} ${
        iface.env(reach)
      }`;
    } else if (cni.kind === 'file') {
      ctx.note(
        'warn',
        `the nodes talk on ${p.nodeSubnet}, which is not their default route's network: your CNI must use the interface that reaches ${reach}`,
        'set it in your manifest (flannel: --iface-can-reach; calico: IP_AUTODETECTION_METHOD=can-reach=…)',
      );
    }
  },
});

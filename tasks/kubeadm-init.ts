// kubeadm init, as root, with kubestrap's binaries first on PATH (kubeadm runs crictl from there).
// kubeadm writes its files itself: they are declared here, so the plan lists every one with what
// this machine has there, and the run compares them with what kubeadm really wrote.
import { defineTask } from '../core/task.ts';
import { statFact } from '../core/facts.ts';
import { ADMIN_CONF, KUBEADM_CONFIG, kubeadmInitWrites, kubeadmPath, KUBERNETES_DIR } from './k8s/paths.ts';
import { parseKubernetesVersion } from './k8s/versions.ts';

export default defineTask({
  name: 'kubeadm-init',
  description: 'Initialize the control plane with kubeadm init (pulls the control-plane images)',
  params: {
    binDir: { type: 'string' },
    kubernetesVersion: { type: 'string', description: 'which files kubeadm writes depends on it' },
    config: { type: 'string', default: KUBEADM_CONFIG },
    ignorePreflightErrors: { type: 'string', default: '', pattern: '[A-Za-z0-9,.-]*', description: 'kubeadm preflight checks to skip, comma-separated' },
  },
  async check(ctx) {
    return (await ctx.exists(ADMIN_CONF)) && ctx.exists('/etc/kubernetes/manifests/kube-apiserver.yaml');
  },
  // Every version's paths (its parameters may be outputs of earlier steps, unknown before the gathering).
  facts: () => [ADMIN_CONF, ...kubeadmInitWrites({ minor: Number.MAX_SAFE_INTEGER })].map(statFact),
  // A fresh control plane has new credentials: later steps must pick them up.
  outputs: () => ({ fresh: false }),
  async run(ctx, p) {
    const ignore = p.ignorePreflightErrors ? [`--ignore-preflight-errors=${p.ignorePreflightErrors}`] : [];
    await ctx.declaring({ label: 'kubeadm init', writes: kubeadmInitWrites(parseKubernetesVersion(p.kubernetesVersion)), watch: [KUBERNETES_DIR] })
      .sudo`env ${kubeadmPath(p.binDir)} kubeadm init --config ${p.config} ${ignore}`;
    return { fresh: true };
  },
});

// The kubeadm configuration file kubeadm init reads, in the config API of the requested version,
// with the runtime's CRI socket and cgroup driver and the user's --extra-config applied.
import type { TaskContext } from '../core/context.ts';
import { fileFact } from '../core/facts.ts';
import { defineTask } from '../core/task.ts';
import { apiserverPort, extraConfig, kubernetesVersion } from '../options/cluster.ts';
import { taskParam } from '../options/option.ts';
import { parseExtraConfig } from './k8s/extra-config.ts';
import { renderKubeadmConfig } from './k8s/kubeadm-yaml.ts';
import { readIfExists } from './k8s/node-facts.ts';
import { once } from './k8s/once.ts';
import { KUBEADM_CONFIG } from './k8s/paths.ts';
import { kubeadmCanValidate, parseKubernetesVersion } from './k8s/versions.ts';

const params = {
  kubernetesVersion: taskParam(kubernetesVersion),
  apiserverPort: taskParam(apiserverPort, true),
  nodeIp: { type: 'string', pattern: '[0-9.]+' },
  criSocket: { type: 'string', pattern: 'unix:///[A-Za-z0-9/._-]+' },
  cgroupDriver: { type: 'string', enum: ['systemd', 'cgroupfs'], default: 'systemd' },
  resolvConf: { type: 'string', default: '/etc/resolv.conf' },
  extraConfig: taskParam(extraConfig, true),
  binDir: { type: 'string', description: 'where kubeadm is, to validate the file' },
  cgroupVersion: { type: 'number', default: 2, description: "the node's cgroup version (preflight)" },
  controlPlaneName: { type: 'string', default: '', pattern: '|[a-z0-9.-]+', description: 'the stable name of the control plane (empty: its address)' },
  path: { type: 'string', default: KUBEADM_CONFIG },
} as const;

type P = {
  kubernetesVersion: string;
  apiserverPort: number;
  nodeIp: string;
  criSocket: string;
  cgroupDriver: string;
  resolvConf: string;
  extraConfig: string[];
  path: string;
  cgroupVersion: number;
  controlPlaneName: string;
};

async function wanted(ctx: TaskContext, p: P) {
  return once(ctx, 'kubeadm-config', async () => {
    const content = renderKubeadmConfig({
      version: parseKubernetesVersion(p.kubernetesVersion),
      clusterName: ctx.profile,
      nodeIp: p.nodeIp,
      apiserverPort: p.apiserverPort,
      criSocket: p.criSocket,
      cgroupDriver: p.cgroupDriver as 'systemd' | 'cgroupfs',
      resolvConf: p.resolvConf,
      extra: parseExtraConfig(p.extraConfig),
      cgroupVersion: p.cgroupVersion === 1 ? 1 : 2,
      ...(p.controlPlaneName ? { controlPlaneName: p.controlPlaneName } : {}),
    });
    return { content, now: await readIfExists(ctx, p.path) };
  });
}

export default defineTask({
  name: 'kubeadm-config',
  description: 'Write the kubeadm configuration (InitConfiguration, ClusterConfiguration, KubeletConfiguration, KubeProxyConfiguration)',
  params,
  // Before the node's address is known its other parameters are not: the path is the default then.
  facts: (p) => [fileFact(p.path ?? KUBEADM_CONFIG)],
  async check(ctx, p) {
    const w = await wanted(ctx, p);
    return w.now === w.content;
  },
  outputs: (_ctx, p) => ({ path: p.path }),
  async run(ctx, p) {
    const w = await wanted(ctx, p);
    await ctx.write(p.path, w.content, { mode: '0644', sudo: true });
    // kubeadm's own reading of the file, before init relies on it.
    if (kubeadmCanValidate(parseKubernetesVersion(p.kubernetesVersion))) await ctx.$`${`${p.binDir}/kubeadm`} config validate --config ${p.path}`;
    return { path: p.path };
  },
});

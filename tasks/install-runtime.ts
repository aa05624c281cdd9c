// Installs, configures and starts the container runtime the kubelet will use; done when the
// packages are installed, the config files are exactly the planned ones and the services run.
import { defineTask, type Params } from '../core/task.ts';
import { CRI_DOCKERD_SHA256, CRI_DOCKERD_URL } from '../runtimes/docker.ts';
import { containerRuntime, kubernetesVersion } from '../options/cluster.ts';
import { taskParam } from '../options/option.ts';
import { parseKubernetesVersion, pauseImage as defaultPauseImage } from './k8s/versions.ts';
import { findRuntime, type CgroupDriver, type ContainerRuntime, type RuntimeOptions } from '../runtimes/index.ts';

const params = {
  runtime: taskParam(containerRuntime, true),
  cgroupDriver: { type: 'string', enum: ['systemd', 'cgroupfs'], default: 'systemd', description: "the kubelet's cgroup driver; the runtime is set to match" },
  kubernetesVersion: taskParam(kubernetesVersion),
  pauseImage: { type: 'string', default: '', pattern: '|[A-Za-z0-9][A-Za-z0-9._/:@-]*', description: "default: kubeadm's pause image for kubernetesVersion" },
  criDockerdUrl: { type: 'string', default: CRI_DOCKERD_URL, description: 'release archive (.tgz) of cri-dockerd, for runtime docker' },
  criDockerdSha256: { type: 'string', default: CRI_DOCKERD_SHA256, pattern: '[a-f0-9]{64}' },
  crioKeyUrl: { type: 'string', default: '', description: "the CRI-O apt repository's signing key; default: the stream's Release.key" },
  crioKeySha256: { type: 'string', default: '', pattern: '|[a-f0-9]{64}' },
} as const;

type P = Params<typeof params>;

function resolve(p: P): { runtime: ContainerRuntime; opts: RuntimeOptions } {
  const runtime = findRuntime(p.runtime);
  const pauseImage = p.pauseImage || defaultPauseImage(parseKubernetesVersion(p.kubernetesVersion));
  const downloads: Record<string, { url: string; sha256?: string }> = { 'cri-dockerd': { url: p.criDockerdUrl, sha256: p.criDockerdSha256 } };
  // An empty URL means the stream's own Release.key (runtimes/crio.ts).
  if (p.crioKeyUrl || p.crioKeySha256) downloads['cri-o-key'] = { url: p.crioKeyUrl, ...(p.crioKeySha256 ? { sha256: p.crioKeySha256 } : {}) };
  return { runtime, opts: { cgroupDriver: p.cgroupDriver as CgroupDriver, pauseImage, kubernetesVersion: p.kubernetesVersion, downloads } };
}

function outputs(runtime: ContainerRuntime, opts: RuntimeOptions) {
  return { runtime: runtime.name, criSocket: runtime.criSocket, cgroupDriver: opts.cgroupDriver, pauseImage: opts.pauseImage };
}

export default defineTask({
  name: 'install-runtime',
  description: 'Install, configure and start the container runtime (containerd, docker + cri-dockerd, or cri-o)',
  params,
  async check(ctx, p) {
    const { runtime, opts } = resolve(p);
    return runtime.check(ctx, opts);
  },
  async run(ctx, p) {
    const { runtime, opts } = resolve(p);
    await runtime.enable(ctx, opts);
    return outputs(runtime, opts);
  },
  outputs(_ctx, p) {
    const { runtime, opts } = resolve(p);
    return outputs(runtime, opts);
  },
});

// Installs, configures and starts the container runtime the kubelet will use; done when the
// packages are installed, the config files are exactly the planned ones and the services run.
import type { TaskContext } from '../core/context.ts';
import { defineTask, type Params, type ParamSpec } from '../core/task.ts';
import { fileFact, shellFact } from '../core/facts.ts';
import { runtimeBinaries } from '../runtimes/installed.ts';
import { fileMode, setupFacts } from '../runtimes/common.ts';
import { ARCH } from './k8s/node-facts.ts';
import { allowPackageChanges, containerdMirror, containerRuntime, kubernetesVersion, runcMirror } from '../options/cluster.ts';
import { taskParam } from '../options/option.ts';
import { type CgroupDriver, type ContainerRuntime, findRuntime, otherUnits, runtimeDownloads, type RuntimeOptions } from '../runtimes/index.ts';
import { parseKubernetesVersion, pauseImage as defaultPauseImage } from './k8s/versions.ts';

/** Each runtime's downloads (runtimes/*.ts) as a URL and a checksum parameter: criDockerdUrl, criDockerdSha256, … */
const downloadParams: Record<string, ParamSpec> = Object.fromEntries(runtimeDownloads.flatMap((d) => [
  [`${d.param}Url`, { type: 'string', default: d.url, description: d.description }],
  [`${d.param}Sha256`, { type: 'string', default: d.sha256, pattern: d.sha256 ? '[a-f0-9]{64}' : '|[a-f0-9]{64}' }],
]));

const params = {
  runtime: taskParam(containerRuntime, true),
  cgroupDriver: { type: 'string', enum: ['systemd', 'cgroupfs'], default: 'systemd', description: "the kubelet's cgroup driver; the runtime is set to match" },
  kubernetesVersion: taskParam(kubernetesVersion),
  pauseImage: { type: 'string', default: '', pattern: '|[A-Za-z0-9][A-Za-z0-9._/:@-]*', description: "default: kubeadm's pause image for kubernetesVersion" },
  containerdMirror: taskParam(containerdMirror, true),
  runcMirror: taskParam(runcMirror, true),
  allowPackageChanges: taskParam(allowPackageChanges, true),
} as const;

type P = Params<typeof params> & Record<string, unknown>;

function resolve(p: P): { runtime: ContainerRuntime; opts: RuntimeOptions } {
  const runtime = findRuntime(p.runtime);
  const pauseImage = p.pauseImage || defaultPauseImage(parseKubernetesVersion(p.kubernetesVersion));
  // An empty URL or checksum: the runtime's own choice (e.g. the CRI-O stream's Release.key).
  const downloads: Record<string, { url: string; sha256?: string }> = Object.fromEntries(runtimeDownloads.map((d) => {
    const [url, sha256] = [String(p[`${d.param}Url`] ?? ''), String(p[`${d.param}Sha256`] ?? '')];
    return [d.name, { url, ...(sha256 ? { sha256 } : {}) }];
  }));
  // containerd's release and runc, where the distribution's containerd is too old (runtimes/containerd.ts).
  downloads['containerd'] = { url: String(p.containerdMirror) };
  downloads['runc'] = { url: String(p.runcMirror) };
  return {
    runtime,
    opts: {
      cgroupDriver: p.cgroupDriver as CgroupDriver,
      pauseImage,
      kubernetesVersion: p.kubernetesVersion,
      downloads,
      otherUnits: otherUnits(runtime),
      allowPackageChanges: p.allowPackageChanges === true,
    },
  };
}

/**
 * The runtime's configuration files as install-runtime writes them on a node container (systemd
 * cgroups, the pause image of the version, no OOM score changes), for a node image to carry them:
 * those nodes then find the step done.
 */
export function nodeContainerConfigFiles(runtime: string, kubernetesVersion: string): { path: string; content: string; mode: string }[] {
  // The values driver-none gives the step on a node container; downloads do not shape the files.
  const { runtime: r, opts } = resolve(
    { runtime, kubernetesVersion, cgroupDriver: 'systemd', pauseImage: '', containerdMirror: '', runcMirror: '', allowPackageChanges: false } as P,
  );
  return r.configFiles({ ...opts, restrictOomScoreAdj: true });
}

function outputs(runtime: ContainerRuntime, opts: RuntimeOptions) {
  return { runtime: runtime.name, criSocket: runtime.criSocket, cgroupDriver: opts.cgroupDriver, pauseImage: opts.pauseImage };
}

/** The capability bounding set line, read by the shell itself (no grep). */
const BOUNDING_SET = shellFact('while read -r k v; do [ "$k" = CapBnd: ] && echo "$k $v"; done < /proc/self/status; exit 0');

/** CAP_SYS_RESOURCE in the machine's bounding set: without it the runtime may not lower OOM scores. */
async function withMachineLimits(ctx: TaskContext, opts: RuntimeOptions): Promise<RuntimeOptions> {
  // A machine a step creates is a node container today, and node containers lack CAP_SYS_RESOURCE
  // on these hosts (docker and podman alike): the plan cannot ask it yet, so it assumes so.
  if (ctx.createdBy) return { ...opts, restrictOomScoreAdj: true };
  const r = await ctx.fact(BOUNDING_SET);
  const mask = /CapBnd:\s*([0-9a-f]+)/.exec(r.stdout)?.[1];
  const canLower = mask === undefined || (BigInt(`0x${mask}`) & (1n << 24n)) !== 0n;
  return canLower ? opts : { ...opts, restrictOomScoreAdj: true };
}

export default defineTask({
  name: 'install-runtime',
  description: 'Install, configure and start the container runtime (containerd, docker + cri-dockerd, or cri-o)',
  params: { ...params, ...downloadParams },
  facts(p) {
    const { runtime, opts } = resolve(p as P);
    return [
      ...setupFacts({ packages: runtime.packages, services: runtime.services, others: opts.otherUnits }),
      ...runtime.configFiles(opts).flatMap((f) => [fileFact(f.path), fileMode(f.path)]),
      ARCH,
      // containerd and docker look for what the machine already runs (runtimes/installed.ts).
      runtimeBinaries(),
      BOUNDING_SET,
      ...(runtime.facts?.(opts) ?? []),
    ];
  },
  async check(ctx, p) {
    const { runtime, opts } = resolve(p);
    return runtime.check(ctx, await withMachineLimits(ctx, opts));
  },
  async run(ctx, p) {
    const { runtime, opts } = resolve(p);
    await runtime.enable(ctx, await withMachineLimits(ctx, opts));
    return outputs(runtime, opts);
  },
  outputs(_ctx, p) {
    const { runtime, opts } = resolve(p);
    return outputs(runtime, opts);
  },
});

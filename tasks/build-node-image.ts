// The default node image, built on this machine from a public Debian base image: systemd, the
// runtime (containerd's upstream release for containerd; Debian's packages for Docker), the CNI
// plugins' release, and kubelet/kubeadm/kubectl/crictl at the requested version (checksummed downloads,
// where install-runtime and install-kubernetes look for them, so those steps find them done in
// every node instead of each node fetching and unpacking its own). Tagged by the hash of all its
// inputs, so a second start reuses it; no image registry is involved beyond the base image's own.
// Its large files are kept outside /var, linked from there, so no node's /var volume copies them (container/var-store.ts).
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { UserError } from '../core/errors.ts';
import { defineTask } from '../core/task.ts';
import type { TaskContext } from '../core/context.ts';
import { endpoint, ENGINE_PARAMS } from './container/common.ts';
import { linkStored, stored } from './container/var-store.ts';
import { cniPluginsMirror, containerdMirror, DEFAULT_BINARY_MIRROR, DEFAULT_CRI_TOOLS_MIRROR, runcMirror } from '../options/cluster.ts';
import { taskParam } from '../options/option.ts';
import { CONTAINERD_UNIT, CONTAINERD_UNIT_FILE, STATIC_RUNC, staticRelease } from '../runtimes/containerd.ts';
import { artifacts } from './install-kubernetes.ts';
import { pluginsRelease } from './install-cni.ts';
import { nodeContainerConfigFiles } from './install-runtime.ts';
import { CNI_BIN_DIR } from './k8s/cni.ts';
import { once } from './k8s/once.ts';

/** Debian 13 (trixie), the stable release, as kind's base image uses. */
export const DEFAULT_BASE_IMAGE = 'docker.io/library/debian:trixie-slim';
/** Bump when the Dockerfile below changes in a way its inputs do not show. */
const BUILD_REVISION = 3;

const COMMON_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'iproute2',
  'iptables',
  'conntrack',
  'socat',
  'ethtool',
  'kmod',
  'ca-certificates',
  'procps',
  'sudo',
  'util-linux',
];
/**
 * The runtime's Debian packages baked in. containerd comes from its release instead (Debian's is
 * too old for current Kubernetes); Docker keeps Debian's, whose docker.io needs Debian's containerd;
 * cri-o is not packaged by Debian and is installed at start.
 */
const RUNTIME_PACKAGES: Record<string, string[]> = { containerd: [], docker: ['docker.io', 'containerd', 'runc'], 'cri-o': [] };

/** containerd's release in the image, laid out as install-runtime leaves it on a node. */
interface BakedRuntime {
  files: { name: string; url: string; sha256: string }[];
  /** Files the build context gets written (the unit, the configuration), by their name there. */
  written: { name: string; content: string }[];
  lines: string[];
}

export function nodeImagePackages(runtime: string): string[] {
  return [...new Set([...COMMON_PACKAGES, ...(RUNTIME_PACKAGES[runtime] ?? [])])].sort();
}

/**
 * Packages are installed only when the base lacks them, so a base that has them all builds
 * without a network. `lines`: what puts the CNI plugins and the runtime's release in place.
 */
export function dockerfile(base: string, packages: string[], binDir: string, files: string[], lines: readonly string[] = []): string {
  return [
    `FROM ${base}`,
    `RUN missing=; for p in ${
      packages.join(' ')
    }; do dpkg-query -W -f '\${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"; done; \\`,
    '    if [ -n "$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; fi',
    `COPY ${files.join(' ')} ${stored(binDir)}/`,
    `RUN ${linkStored(binDir)} && cd ${binDir} && chmod 0755 kubelet kubeadm kubectl && tar -xzf crictl-*.tar.gz crictl`,
    ...lines,
    'ENV container=docker',
    'STOPSIGNAL SIGRTMIN+3',
    'CMD ["/sbin/init"]',
    '',
  ].join('\n');
}

export default defineTask({
  name: 'build-node-image',
  description: 'Build the node image (Debian, systemd, runtime, CNI plugins, Kubernetes binaries) in the local engine, cached by its inputs',
  params: {
    ...ENGINE_PARAMS,
    baseImage: { type: 'string', default: DEFAULT_BASE_IMAGE, description: 'the Debian image the build starts from' },
    image: { type: 'string', default: '', description: 'a node image of your own (--base-image): used as it is, nothing is built' },
    runtime: { type: 'string', default: 'containerd' },
    kubernetesVersion: { type: 'string' },
    binaryMirror: { type: 'string', default: DEFAULT_BINARY_MIRROR },
    criToolsMirror: { type: 'string', default: DEFAULT_CRI_TOOLS_MIRROR },
    containerdMirror: taskParam(containerdMirror, true),
    runcMirror: taskParam(runcMirror, true),
    cniPluginsMirror: taskParam(cniPluginsMirror, true),
  },
  async check(ctx, p) {
    const tag = p.image || (await inputs(ctx, p)).tag;
    return (await ctx.engine(endpoint(p), { op: 'image.inspect', image: tag })).value !== null;
  },
  outputs: async (ctx, p) => ({ image: p.image || (await inputs(ctx, p)).tag }),
  async run(ctx, p) {
    const ep = endpoint(p);
    if (p.image) {
      throw new UserError('NODE_IMAGE_MISSING', `the node image ${p.image} (--base-image) is not in the local ${ep.engine}`, {
        fix: `pull or load it first (${ep.engine} pull ${p.image}), or leave --base-image out to build the default image`,
      });
    }
    const i = await inputs(ctx, p);
    let context = '';
    for (const a of i.downloads) {
      const cached = await ctx.download(a.url, { sha256: a.sha256 });
      // The build context sits in the download cache, beside the files it is made of.
      context ||= `${dirname(dirname(cached))}/node-image-${i.hash}`;
      await ctx.put(cached, `${context}/${a.name}`, { mode: '0644', sha256: a.sha256 });
    }
    for (const f of i.runtime?.written ?? []) await ctx.write(`${context}/${f.name}`, f.content);
    await ctx.write(`${context}/Dockerfile`, i.dockerfile);
    await ctx.engine(ep, {
      op: 'image.build',
      context,
      files: i.contextFiles,
      tag: i.tag,
      labels: { 'io.kubestrap.created-by': 'kubestrap', 'io.kubestrap.kubernetes-version': i.version },
    });
    return { image: i.tag };
  },
});

type Inputs = {
  engine: string;
  socket: string;
  baseImage: string;
  runtime: string;
  kubernetesVersion: string;
  binaryMirror: string;
  criToolsMirror: string;
  containerdMirror: string;
  runcMirror: string;
  cniPluginsMirror: string;
};

async function inputs(ctx: TaskContext, p: Inputs) {
  const a = await artifacts(ctx, p);
  const cni = await bakedPlugins(ctx, p);
  const runtime = p.runtime === 'containerd' ? await bakedContainerd(ctx, p) : undefined;
  const packages = nodeImagePackages(p.runtime);
  const downloads = [...a.list, a.crictl, ...cni.files, ...(runtime?.files ?? [])];
  const text = dockerfile(p.baseImage, packages, a.dir, [...a.list, a.crictl].map((x) => x.name), [...cni.lines, ...(runtime?.lines ?? [])]);
  const hash = createHash('sha256').update(JSON.stringify({
    BUILD_REVISION, // The base by its reference: pin a digest (debian@sha256:…) to make a new pull a new input.
    base: p.baseImage,
    packages,
    sums: downloads.map((x) => x.sha256),
    dockerfile: text,
    written: runtime?.written ?? [],
  })).digest('hex').slice(0, 12);
  const version = a.dir.split('/').pop()!;
  // What the build context holds besides the Dockerfile: the downloads, then the written files.
  const contextFiles = [...downloads.map((x) => x.name), ...(runtime?.written ?? []).map((f) => f.name)];
  return { runtime, downloads, contextFiles, dockerfile: text, hash, version, tag: `kubestrap-node:${version}-${hash}` };
}

/**
 * The CNI plugins' release, unpacked into /opt/cni/bin and kept (linked) where install-cni keeps it, as that
 * step leaves a node: every node's install-cni then compares and writes no plugin.
 */
async function bakedPlugins(ctx: TaskContext, p: Inputs): Promise<Pick<BakedRuntime, 'files' | 'lines'>> {
  const r = await pluginsRelease(ctx, p.cniPluginsMirror);
  return {
    files: [{ name: r.name, url: r.url, sha256: r.sha256 }],
    lines: [
      `COPY ${r.name} ${stored(dirname(r.tarball))}/`,
      `RUN ${linkStored(r.tarball)} && mkdir -p ${CNI_BIN_DIR} && tar -xzf ${r.tarball} -C ${CNI_BIN_DIR} --no-same-owner ${
        r.members.join(' ')
      } && chmod 0644 ${r.tarball}`,
    ],
  };
}

/**
 * containerd's and runc's releases (the ones install-runtime would put on the node), their unit and
 * the configuration install-runtime writes on a node container, enabled: every node's install-runtime
 * then finds containerd installed, configured and running, and neither writes nor restarts.
 */
async function bakedContainerd(ctx: TaskContext, p: Inputs): Promise<BakedRuntime> {
  const r = await once(
    ctx,
    'containerd-release',
    () => staticRelease(ctx, { downloads: { containerd: { url: p.containerdMirror }, runc: { url: p.runcMirror } } }),
  );
  const archive = r.containerd.path.split('/').pop()!;
  const runc = r.runc.url.split('/').pop()!;
  const unit = CONTAINERD_UNIT_FILE.split('/').pop()!;
  const members = r.containerd.members;
  const bins = members.map((m) => `${r.containerd.dest}/${m.split('/').pop()}`);
  const config = nodeContainerConfigFiles('containerd', p.kubernetesVersion).map((f) => ({ ...f, name: f.path.split('/').pop()! }));
  return {
    files: [{ name: archive, url: r.containerd.url, sha256: r.containerd.sha256 }, { name: runc, url: r.runc.url, sha256: r.runc.sha256 }],
    written: [{ name: unit, content: CONTAINERD_UNIT }, ...config.map((f) => ({ name: f.name, content: f.content }))],
    lines: [
      // The archive stays (linked) where install-runtime keeps it: that step compares the binaries against it.
      `COPY ${archive} ${stored(dirname(r.containerd.path))}/`,
      `COPY ${runc} ${STATIC_RUNC}`,
      `COPY ${unit} ${CONTAINERD_UNIT_FILE}`,
      ...config.map((f) => `COPY ${f.name} ${f.path}`),
      `RUN ${linkStored(r.containerd.path)} && tar -xzf ${r.containerd.path} -C ${r.containerd.dest} --strip-components=1 --no-same-owner ${
        members.join(' ')
      } && chmod 0755 ${[...bins, STATIC_RUNC].join(' ')} && chmod 0644 ${r.containerd.path} ${CONTAINERD_UNIT_FILE}${
        config.map((f) => ` && chmod ${f.mode} ${f.path}`).join('')
      } && systemctl enable containerd`,
    ],
  };
}

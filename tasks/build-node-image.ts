// The default node image, built on this machine from a public Debian base image: systemd, the
// runtime's Debian packages, the CNI plugins, and kubelet/kubeadm/kubectl/crictl at the requested
// version (checksummed downloads, where install-kubernetes looks for them, so that step finds them
// done). Tagged by the hash of all its inputs, so a second start reuses it; no image registry is
// involved beyond the base image's own.
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { UserError } from '../core/errors.ts';
import { defineTask } from '../core/task.ts';
import type { TaskContext } from '../core/context.ts';
import { ENGINE_PARAMS, endpoint } from './container/common.ts';
import { DEFAULT_BINARY_MIRROR, DEFAULT_CRI_TOOLS_MIRROR } from '../options/cluster.ts';
import { artifacts } from './install-kubernetes.ts';

/** Debian 13 (trixie), the stable release, as kind's base image uses. */
export const DEFAULT_BASE_IMAGE = 'docker.io/library/debian:trixie-slim';
/** Bump when the Dockerfile below changes in a way its inputs do not show. */
const BUILD_REVISION = 1;

const COMMON_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'iproute2', 'iptables', 'conntrack', 'socat', 'ethtool', 'kmod', 'ca-certificates', 'procps',
  'sudo', 'util-linux', 'containernetworking-plugins',
];
/** The runtime's packages baked in; cri-o is not packaged by Debian and is installed at start. */
const RUNTIME_PACKAGES: Record<string, string[]> = { containerd: ['containerd', 'runc'], docker: ['docker.io', 'containerd', 'runc'], 'cri-o': [] };

export function nodeImagePackages(runtime: string): string[] {
  return [...new Set([...COMMON_PACKAGES, ...(RUNTIME_PACKAGES[runtime] ?? [])])].sort();
}

/**
 * Packages are installed only when the base lacks them, so a base that has them all builds
 * without a network. Debian's CNI plugins live in /usr/lib/cni; the kubelet looks in /opt/cni/bin.
 */
export function dockerfile(base: string, packages: string[], binDir: string, files: string[]): string {
  return [
    `FROM ${base}`,
    `RUN missing=; for p in ${packages.join(' ')}; do dpkg-query -W -f '\${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"; done; \\`,
    '    if [ -n "$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; fi',
    'RUN mkdir -p /opt/cni && { [ -e /opt/cni/bin ] || ln -s /usr/lib/cni /opt/cni/bin; }',
    `COPY ${files.join(' ')} ${binDir}/`,
    `RUN cd ${binDir} && chmod 0755 kubelet kubeadm kubectl && tar -xzf crictl-*.tar.gz crictl`,
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
  },
  async check(ctx, p) {
    const tag = p.image || (await inputs(ctx, p)).tag;
    return (await ctx.engine(endpoint(p), { op: 'image.inspect', image: tag })).value !== null;
  },
  outputs: async (ctx, p) => ({ image: p.image || (await inputs(ctx, p)).tag }),
  async run(ctx, p) {
    const ep = endpoint(p);
    if (p.image) {
      throw new UserError('NODE_IMAGE_MISSING', `the node image ${p.image} (--base-image) is not in the local ${ep.engine}`, { fix: `pull or load it first (${ep.engine} pull ${p.image}), or leave --base-image out to build the default image` });
    }
    const i = await inputs(ctx, p);
    const files: string[] = [];
    let context = '';
    for (const a of [...i.artifacts.list, i.artifacts.crictl]) {
      const cached = await ctx.download(a.url, { sha256: a.sha256 });
      // The build context sits in the download cache, beside the files it is made of.
      context ||= `${dirname(dirname(cached))}/node-image-${i.hash}`;
      await ctx.put(cached, `${context}/${a.name}`, { mode: '0644', sha256: a.sha256 });
      files.push(a.name);
    }
    await ctx.write(`${context}/Dockerfile`, dockerfile(p.baseImage, i.packages, i.artifacts.dir, files));
    await ctx.engine(ep, { op: 'image.build', context, files, tag: i.tag, labels: { 'io.kubestrap.created-by': 'kubestrap', 'io.kubestrap.kubernetes-version': i.version } });
    return { image: i.tag };
  },
});

async function inputs(ctx: TaskContext, p: { engine: string; socket: string; baseImage: string; runtime: string; kubernetesVersion: string; binaryMirror: string; criToolsMirror: string }) {
  const a = await artifacts(ctx, p);
  const packages = nodeImagePackages(p.runtime);
  const files = [...a.list, a.crictl].map((x) => x.name);
  const hash = createHash('sha256').update(JSON.stringify({
    BUILD_REVISION, // The base by its reference: pin a digest (debian@sha256:…) to make a new pull a new input.
    base: p.baseImage, packages, sums: [...a.list, a.crictl].map((x) => x.sha256),
    dockerfile: dockerfile(p.baseImage, packages, a.dir, files),
  })).digest('hex').slice(0, 12);
  const version = a.dir.split('/').pop()!;
  return { artifacts: a, packages, hash, version, tag: `kubestrap-node:${version}-${hash}` };
}

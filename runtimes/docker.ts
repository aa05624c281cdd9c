// Docker Engine (Debian's docker.io, or the node's own docker-ce), with cri-dockerd as the CRI shim
// the kubelet talks to (dockershim left the kubelet in 1.24). cri-dockerd is not a Debian package: its release archive
// (the node's architecture) is downloaded on the kubestrap machine (checksum verified), put on the
// node, and its binary extracted from there, so the node's copy is what the check compares against.
import type { TaskContext } from '../core/context.ts';
import { UserError } from '../core/errors.ts';
import { fileDigest } from '../core/facts.ts';
import { ARCHES, nodeArch } from '../tasks/k8s/node-facts.ts';
import { once } from '../tasks/k8s/once.ts';
import { ARCHIVE_DIR, archiveName, archiveState, installArchive, type ReleaseArchive } from './archive.ts';
import { findBinaries, sourceOf } from './installed.ts';
import type { ContainerRuntime, RuntimeOptions } from './runtime.ts';
import { CRICTL_CONFIG, crictlConfig, enableSetup, isSetUp, type ManagedFile, type Setup, stopUnits, validateOptions } from './common.ts';

export const CRI_DOCKERD_VERSION = '0.3.24';
export const CRI_DOCKERD_RELEASES = 'https://github.com/Mirantis/cri-dockerd/releases/download';
/** sha256 of each architecture's release archive (cri-dockerd publishes none; as kubespray pins them). */
export const CRI_DOCKERD_SHA256: Readonly<Record<'amd64' | 'arm64', string>> = {
  amd64: 'dd4b7f514c248a3aaca398f467430a4c58aae9a77ea8b96a2f5b5d6fba0948d1',
  arm64: 'c783a03735887c4a8fc894bd4cf7a1c0defef3ecf50a4d79ff31eed45c26b17e',
};

export function criDockerdUrl(arch: 'amd64' | 'arm64'): string {
  return `${CRI_DOCKERD_RELEASES}/v${CRI_DOCKERD_VERSION}/cri-dockerd-${CRI_DOCKERD_VERSION}.${arch}.tgz`;
}

export const DOCKER_DAEMON_JSON = '/etc/docker/daemon.json';
export const CRI_DOCKER_SERVICE = '/etc/systemd/system/cri-docker.service';
export const CRI_DOCKER_SOCKET = '/etc/systemd/system/cri-docker.socket';
export const CRI_DOCKERD_BIN = '/usr/local/bin/cri-dockerd';
/** The path of the binary inside the release archive. */
export const CRI_DOCKERD_MEMBER = 'cri-dockerd/cri-dockerd';

/** What kubestrap needs in daemon.json: Docker's cgroup driver is the kubelet's, and json-file logs (kubectl logs reads them through cri-dockerd). */
function ourDaemonSettings(o: RuntimeOptions) {
  validateOptions(o);
  return { 'exec-opts': [`native.cgroupdriver=${o.cgroupDriver}`], 'log-driver': 'json-file', 'log-opts': { 'max-size': '100m' } };
}

/** daemon.json for a machine without one. */
export function daemonJson(o: RuntimeOptions): string {
  return JSON.stringify(ourDaemonSettings(o), null, 2) + '\n';
}

export interface MergedDaemonJson {
  content: string;
  /** Settings of the user's that differ from what kubestrap needs: left as they are, and the plan is blocked. */
  conflicts: string[];
  /** Settings of the user's that kubestrap would have set otherwise: left as they are. */
  kept: string[];
  /** The file is not a JSON object: left as it is. */
  invalid?: string;
}

/**
 * Our settings merged into the user's daemon.json: their keys (data-root, registry mirrors, …) stay
 * as they are and where they are, in their indentation; ours are added after them. A value of theirs
 * that contradicts what the kubelet needs is never overwritten: it is reported as a conflict.
 */
export function mergeDaemonJson(current: string | null, o: RuntimeOptions): MergedDaemonJson {
  const ours = ourDaemonSettings(o);
  if (current === null || current.trim() === '') return { content: daemonJson(o), conflicts: [], kept: [] };
  let user: unknown;
  try {
    user = JSON.parse(current);
  } catch (e) {
    return { content: current, conflicts: [], kept: [], invalid: (e as Error).message };
  }
  if (!user || typeof user !== 'object' || Array.isArray(user)) return { content: current, conflicts: [], kept: [], invalid: 'not a JSON object' };
  const merged: Record<string, unknown> = { ...(user as Record<string, unknown>) };
  const conflicts: string[] = [];
  const kept: string[] = [];
  let changed = false;

  const want = ours['exec-opts'][0]!;
  const opts = merged['exec-opts'];
  if (opts === undefined) {
    merged['exec-opts'] = [want];
    changed = true;
  } else if (!Array.isArray(opts)) conflicts.push(`"exec-opts" is ${JSON.stringify(opts)}, not a list (kubestrap needs ${want} in it)`);
  else {
    const driver = opts.find((x) => typeof x === 'string' && x.startsWith('native.cgroupdriver='));
    if (driver === undefined) {
      merged['exec-opts'] = [...opts, want];
      changed = true;
    } else if (driver !== want) conflicts.push(`"exec-opts" has ${driver}, but the kubelet uses ${want}`);
  }
  if (merged['log-driver'] === undefined) {
    merged['log-driver'] = ours['log-driver'];
    changed = true;
  } else if (merged['log-driver'] !== ours['log-driver']) {
    conflicts.push(`"log-driver" is ${JSON.stringify(merged['log-driver'])}, but kubectl logs needs "json-file" through cri-dockerd`);
  }
  const logOpts = merged['log-opts'];
  if (logOpts === undefined) {
    merged['log-opts'] = ours['log-opts'];
    changed = true;
  } else if (logOpts && typeof logOpts === 'object' && !Array.isArray(logOpts)) {
    const lo = logOpts as Record<string, unknown>;
    if (lo['max-size'] === undefined) {
      merged['log-opts'] = { ...lo, 'max-size': ours['log-opts']['max-size'] };
      changed = true;
    } else if (lo['max-size'] !== ours['log-opts']['max-size']) kept.push(`"log-opts"."max-size" ${JSON.stringify(lo['max-size'])}`);
  }
  if (!changed) return { content: current, conflicts, kept };
  const indent = /\n([ \t]+)"/.exec(current)?.[1] ?? '  ';
  const added = Object.keys(merged).filter((k) => !(k in (user as Record<string, unknown>)));
  const edited = Object.keys(user as Record<string, unknown>).some((k) => merged[k] !== (user as Record<string, unknown>)[k]);
  // Only new keys: insert them before the closing brace, so the user's own text stays byte for byte.
  const close = current.lastIndexOf('}');
  if (!edited && close >= 0) {
    const body = current.slice(0, close).replace(/\s*$/, '');
    const lines = added.map((k) => `${indent}${JSON.stringify(k)}: ${JSON.stringify(merged[k], null, indent).split('\n').join(`\n${indent}`)}`);
    const comma = body.trimEnd().endsWith('{') ? '' : ',';
    return { content: `${body}${comma}\n${lines.join(',\n')}\n${current.slice(close)}`, conflicts, kept };
  }
  return { content: JSON.stringify(merged, null, indent) + '\n', conflicts, kept };
}

/** cri-dockerd's service; its flags are minikube's (pause image, CNI, hairpin-veth). */
export function criDockerService(o: RuntimeOptions): string {
  validateOptions(o);
  return `# Generated by kubestrap (install-runtime).
[Unit]
Description=CRI shim for Docker Engine (cri-dockerd)
Documentation=https://mirantis.github.io/cri-dockerd/
After=network-online.target docker.service
Wants=network-online.target
# Requires= also carries a restart of docker over to cri-dockerd.
Requires=cri-docker.socket docker.service
StartLimitBurst=3
StartLimitIntervalSec=60

[Service]
Type=notify
ExecStart=${CRI_DOCKERD_BIN} --container-runtime-endpoint fd:// --pod-infra-container-image=${o.pauseImage} --network-plugin=cni --hairpin-mode=hairpin-veth
ExecReload=/bin/kill -s HUP $MAINPID
Restart=always
RestartSec=2
TimeoutSec=0
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
`;
}

/** systemd holds the socket (/run/cri-dockerd.sock) and starts cri-dockerd on the first connection. */
export const CRI_DOCKER_SOCKET_UNIT = `# Generated by kubestrap (install-runtime).
[Unit]
Description=CRI socket of cri-dockerd
PartOf=cri-docker.service

[Socket]
ListenStream=%t/cri-dockerd.sock
SocketMode=0660
SocketUser=root
SocketGroup=docker

[Install]
WantedBy=sockets.target
`;

/** The cri-dockerd archive for this node: the pinned release for its architecture, or the one given. */
export function criDockerdArchive(o: RuntimeOptions, arch: 'amd64' | 'arm64'): ReleaseArchive {
  const given = o.downloads?.['cri-dockerd'];
  const a = given?.url ? given : { url: criDockerdUrl(arch), sha256: CRI_DOCKERD_SHA256[arch] };
  if (!a.sha256 || !/^[a-f0-9]{64}$/.test(a.sha256)) {
    throw new UserError('CHECKSUM_MISSING', `the cri-dockerd archive ${a.url} needs a sha256 checksum`, { fix: 'pass criDockerdSha256 (64 hex digits)' });
  }
  try {
    new URL(a.url);
  } catch {
    throw new UserError('URL_INVALID', `not a URL: ${a.url}`);
  }
  return {
    url: a.url,
    sha256: a.sha256,
    path: `${ARCHIVE_DIR}/${archiveName(a.url, 'cri-dockerd.tgz')}`,
    members: [CRI_DOCKERD_MEMBER],
    dest: dirOf(CRI_DOCKERD_BIN),
  };
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

function files(o: RuntimeOptions, daemon = daemonJson(o)): ManagedFile[] {
  return [
    { path: DOCKER_DAEMON_JSON, content: daemon, mode: '0644', restarts: ['docker'] },
    { path: CRI_DOCKER_SOCKET, content: CRI_DOCKER_SOCKET_UNIT, mode: '0644', restarts: ['cri-docker.socket', 'cri-docker'], unit: true },
    { path: CRI_DOCKER_SERVICE, content: criDockerService(o), mode: '0644', restarts: ['cri-docker'], unit: true },
    { path: CRICTL_CONFIG, content: crictlConfig(docker.criSocket), mode: '0644', restarts: [] },
  ];
}

/** daemon.json as it will be: ours merged into the user's; conflicts and a broken file block the plan. */
async function daemonFile(ctx: TaskContext, o: RuntimeOptions): Promise<string> {
  return once(ctx, 'daemon.json', async () => {
    const current = (await ctx.exists(DOCKER_DAEMON_JSON)) ? await ctx.read(DOCKER_DAEMON_JSON) : null;
    const m = mergeDaemonJson(current, o);
    if (m.invalid) {
      ctx.block(
        'DOCKER_CONFIG_INVALID',
        `${DOCKER_DAEMON_JSON} on ${ctx.host} is not a JSON object (${m.invalid}): kubestrap merges its settings into it and will not replace it`,
        'fix the file (Docker cannot read it either), or remove it',
      );
    }
    for (const c of m.conflicts) {
      ctx.block(
        'DOCKER_CONFIG_CONFLICT',
        `${DOCKER_DAEMON_JSON} on ${ctx.host}: ${c}; kubestrap does not overwrite your setting`,
        'change or remove that setting in the file; kubestrap merges the rest',
      );
    }
    for (const k of m.kept) ctx.note('info', `${DOCKER_DAEMON_JSON}: keeps your ${k}`);
    return m.content;
  });
}

/** Docker Engine from the distribution (docker.io), or the one this node already has (docker-ce, a static dockerd). */
function setup(ctx: TaskContext, o: RuntimeOptions): Promise<Setup> {
  return once(ctx, 'docker-setup', () => decide(ctx, o));
}

async function decide(ctx: TaskContext, o: RuntimeOptions): Promise<Setup> {
  const arch = await nodeArch(ctx);
  const a = criDockerdArchive(o, arch);
  const found = (await findBinaries(ctx, ['dockerd'])).get('dockerd');
  const own = found && found.owner !== 'docker.io';
  if (own) {
    ctx.note('info', `uses the Docker Engine ${found.version ?? ''} this machine has (${found.path}, ${sourceOf(found)}): kubestrap does not replace it`);
  }
  return {
    packages: own ? [] : docker.packages,
    allowRemovals: o.allowPackageChanges ?? false,
    files: files(o, await daemonFile(ctx, o)),
    services: docker.services,
    others: o.otherUnits,
    installed: async (c) => (await archiveState(c, a)).binaries,
    afterPackages: async (c) => ((await installArchive(c, a)) ? ['cri-docker'] : []),
  };
}

export const docker: ContainerRuntime = {
  name: 'docker',
  aliases: [],
  criSocket: 'unix:///var/run/cri-dockerd.sock',
  packages: ['docker.io'],
  services: ['docker.socket', 'docker', 'cri-docker.socket', 'cri-docker'],
  // dockerd is a client of the system containerd: enabling docker leaves it running (as minikube does).
  uses: ['containerd'],
  // Empty defaults: the pinned release for the node's architecture (criDockerdArchive).
  downloads: [{
    name: 'cri-dockerd',
    param: 'criDockerd',
    url: '',
    sha256: '',
    description: "release archive (.tgz) of cri-dockerd, for runtime docker; default: the pinned release for the node's architecture",
  }],
  // The archive's name may hold the node's architecture: both are asked.
  facts: (o) => [...new Set(ARCHES.map((a) => criDockerdArchive(o, a).path))].map(fileDigest),
  configFiles: (o) => files(o).map(({ path, content, mode }) => ({ path, content, mode })),
  check: async (ctx, o) => isSetUp(ctx, await setup(ctx, o)),
  enable: async (ctx, o) => enableSetup(ctx, await setup(ctx, o)),
  disable: (ctx) => stopUnits(ctx, docker.services),
};

// Node containers for the e2e suites: a small Debian root filesystem built from Debian packages with
// mmdebstrap (cached by the hash of its inputs), imported into a test's engine, and containers that
// boot systemd as PID 1 the way environment.md says works here.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { Teardown } from './dockerd.ts';
import { CGROUP_RW_SCRIPT } from '../../tasks/container/privileges.ts';

export const MMDEBSTRAP_INSTALL = 'apt-get install mmdebstrap';

/** What a node needs to boot systemd, take SSH and run containerd. Later suites add to it. */
export const NODE_PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'sudo',
  'iproute2',
  'ca-certificates',
  'procps',
  'kmod',
  'containerd',
  'runc',
  'conntrack',
  'socat',
  'ethtool',
  'iptables',
];

export interface NodeImageOptions {
  /**
   * Debian packages to install on top of the minbase variant (default NODE_PACKAGES); each list is
   * its own cached variant. [] gives a small plain Debian for tests that only need a shell.
   */
  packages?: readonly string[];
  suite?: string;
}

/** Bump when the build below changes in a way its arguments do not show. */
const BUILD_REVISION = 1;

/**
 * Image tweaks: no documentation, and no SSH host keys baked in (every node would share them);
 * ssh.service makes its own keys on first start.
 */
const SSH_DROP_IN = '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n';
const BUILD_ARGS = [
  '--variant=minbase',
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-include=/usr/share/doc/*/copyright',
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/info/*',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*',
  `--customize-hook=mkdir -p "$1"/etc/systemd/system/ssh.service.d && printf '%s' '${SSH_DROP_IN}' > "$1"/etc/systemd/system/ssh.service.d/host-keys.conf`,
];

/** Shared between runs and suites; $KUBESTRAP_TEST_CACHE moves it. */
export function testCacheDir(): string {
  const dir = process.env.KUBESTRAP_TEST_CACHE || join(tmpdir(), 'kubestrap-test-cache');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The machine's own apt sources for this suite (files apt reads that name it), so the image comes
 * from the same mirror the machine uses. Without any, mmdebstrap uses its built-in default.
 */
function aptSources(suite: string): string[] {
  const files = existsSync('/etc/apt/sources.list') ? ['/etc/apt/sources.list'] : [];
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) {
      if (/\.(list|sources)$/.test(f)) files.push(join('/etc/apt/sources.list.d', f));
    }
  }
  const word = new RegExp(`(^|\\s)${suite}(\\s|$)`, 'm');
  return files.filter((f) => word.test(readFileSync(f, 'utf8').split('\n').filter((l) => !l.trim().startsWith('#')).join('\n')));
}

export interface NodeRootfs {
  tarball: string;
  /** Hash of the inputs: suite, packages, sources, build arguments, mmdebstrap version. */
  key: string;
  /** False when it came from the cache. */
  built: boolean;
  ms: number;
}

/** The node root filesystem as a tarball, built on first use and then taken from the cache. */
export async function nodeRootfs(opts: NodeImageOptions = {}): Promise<NodeRootfs> {
  const started = Date.now();
  const suite = opts.suite ?? 'bookworm';
  const packages = [...new Set(opts.packages ?? NODE_PACKAGES)].sort();
  const sources = aptSources(suite);
  const version = await output('mmdebstrap', ['--version']);
  const key = createHash('sha256').update(JSON.stringify({
    BUILD_REVISION,
    suite,
    packages,
    BUILD_ARGS,
    version,
    sources: sources.map((f) => readFileSync(f, 'utf8')),
  })).digest('hex').slice(0, 16);
  const dir = testCacheDir();
  const tarball = join(dir, `node-rootfs-${suite}-${key}.tar`);
  if (existsSync(tarball)) return { tarball, key, built: false, ms: Date.now() - started };

  const unlock = await lock(`${tarball}.lock`);
  try {
    // Another process may have built it while we waited for the lock.
    if (existsSync(tarball)) return { tarball, key, built: false, ms: Date.now() - started };
    const partial = `${tarball}.${process.pid}.partial`;
    const log = `${tarball}.log`;
    try {
      const include = packages.length ? [`--include=${packages.join(',')}`] : [];
      await run('mmdebstrap', [...BUILD_ARGS, ...include, '--format=tar', suite, partial, ...sources], log, 20 * 60_000);
      renameSync(partial, tarball);
    } finally {
      rmSync(partial, { force: true });
    }
    return { tarball, key, built: true, ms: Date.now() - started };
  } finally {
    unlock();
  }
}

/** The node image in the engine at `socket`: imported from the cached root filesystem unless already there. Returns its reference. */
export async function nodeImage(socket: string, opts: NodeImageOptions = {}): Promise<string> {
  const { tarball, key } = await nodeRootfs(opts);
  const docker = new Docker({ socketPath: socket });
  const ref = `kubestrap-node:${key}`;
  try {
    await docker.getImage(ref).inspect();
    return ref;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
  const progress = await docker.importImage(tarball);
  const text = await new Promise<string>((resolve, reject) => {
    let all = '';
    progress.on('data', (b: Buffer) => {
      all += b.toString('utf8');
    });
    progress.on('end', () => resolve(all));
    progress.on('error', reject);
  });
  const events = text.split(/\r?\n|(?<=\})(?=\{)/).filter(Boolean).map((l) => JSON.parse(l) as { status?: string; error?: string });
  const failed = events.find((ev) => ev.error);
  if (failed) throw new Error(`importing ${tarball} failed: ${failed.error}`);
  // The image ID is the last status; podman's import ignores repo/tag, so tag it ourselves.
  const id = [...events].reverse().map((ev) => ev.status).find((s) => s && /^sha256:[0-9a-f]{64}$/.test(s));
  if (!id) throw new Error(`importing ${tarball} gave no image ID: ${text.slice(-300)}`);
  await docker.getImage(id).tag({ repo: 'kubestrap-node', tag: key });
  return ref;
}

export interface NodeContainer {
  name: string;
  id: string;
  network: string;
  /** The container's address on the test network; the host reaches it directly. */
  address: string;
  /** `running` or `degraded` (then `failedUnits` says which). */
  state: string;
  failedUnits: string;
}

/**
 * Runs systemd as PID 1 in a container from `image` on a bridge network of its own, waits until
 * systemd reports running (or degraded), and removes container and network when the test ends.
 * `--privileged` fails on these machines (no CAP_SYS_RESOURCE): explicit capabilities instead.
 */
export async function startNodeContainer(
  t: Teardown,
  socket: string,
  image: string,
  name: string,
  opts: { volumes?: readonly string[]; nestedContainers?: boolean } = {},
): Promise<NodeContainer> {
  const docker = new Docker({ socketPath: socket });
  const network = `${name}-net`;
  const subnet = freeSubnet();
  const net = await docker.createNetwork({
    Name: network,
    Driver: 'bridge',
    CheckDuplicate: true,
    IPAM: { Config: [{ Subnet: subnet, Gateway: subnet.replace(/\.0\/24$/, '.1') }] },
  });
  t.after(async () => {
    await net.remove().catch(() => {});
  });
  // The node's own cgroup namespace and /sys/fs/cgroup, made writable by a bind remount of its
  // own mounts only (tasks/container/privileges.ts): a bind of the host's /sys/fs/cgroup with the
  // host's cgroup namespace let systemd remount the host's cgroup tmpfs for the whole machine.
  // CgroupnsMode is API 1.41 but missing from @types/dockerode.
  const hostConfig: Docker.HostConfig & { CgroupnsMode: string; MaskedPaths?: string[]; ReadonlyPaths?: string[] } = {
    CapAdd: ['ALL'],
    CapDrop: ['SYS_RESOURCE'],
    SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    // Nested containers need /proc and /sys unmasked (runc mounts its own proc): what the CLI's
    // --security-opt systempaths=unconfined sends; --privileged would too, and fails on these machines.
    ...(opts.nestedContainers ? { MaskedPaths: [], ReadonlyPaths: [] } : {}),
    Tmpfs: { '/run': '', '/run/lock': '' },
    CgroupnsMode: 'private',
    NetworkMode: network,
  };
  const container = await docker.createContainer({
    name,
    Hostname: name,
    Image: image,
    Entrypoint: ['/bin/sh', '-c', CGROUP_RW_SCRIPT, 'kubestrap-node'],
    Cmd: ['/usr/lib/systemd/systemd'],
    StopSignal: 'SIGRTMIN+3',
    Env: ['container=docker'],
    HostConfig: hostConfig,
    // Anonymous volumes (removed with the container): a runtime's overlayfs snapshots cannot sit
    // on the container's own overlay root, as kind and minikube know.
    ...(opts.volumes?.length ? { Volumes: Object.fromEntries(opts.volumes.map((v) => [v, {}])) } : {}),
  });
  // Registered after the network's: teardown runs in reverse, so the container goes first.
  t.after(async () => {
    await container.remove({ force: true, v: true }).catch(() => {});
  });
  await container.start();

  const deadline = Date.now() + 90_000;
  let state = '';
  for (;;) {
    state = (await execIn(docker, name, ['systemctl', 'is-system-running'])).stdout.trim();
    if (state === 'running' || state === 'degraded') break;
    const info = await container.inspect();
    if (!info.State.Running) throw new Error(`node container ${name} stopped while booting (exit ${info.State.ExitCode}): ${await containerLog(container)}`);
    if (Date.now() > deadline) throw new Error(`systemd in ${name} did not finish booting in 90 s (state: ${state || 'unknown'})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const failedUnits = state === 'degraded' ? (await execIn(docker, name, ['systemctl', '--failed', '--no-legend', '--plain'])).stdout.trim() : '';
  const info = await container.inspect();
  return { name, id: info.Id, network, address: info.NetworkSettings.Networks[network]?.IPAddress ?? '', state, failedUnits };
}

/** Runs argv in a container with plain dockerode: tests use it to check what kubestrap did, independently. */
export async function execIn(docker: Docker, container: string, argv: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  const exec = await docker.getContainer(container).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  docker.modem.demuxStream(
    stream,
    { write: (b: Buffer) => chunks.stdout.push(Buffer.from(b)) } as unknown as NodeJS.WritableStream,
    { write: (b: Buffer) => chunks.stderr.push(Buffer.from(b)) } as unknown as NodeJS.WritableStream,
  );
  await new Promise<void>((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  let info = await exec.inspect();
  for (let i = 0; info.Running && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await exec.inspect();
  }
  return { stdout: Buffer.concat(chunks.stdout).toString('utf8'), stderr: Buffer.concat(chunks.stderr).toString('utf8'), exitCode: info.ExitCode ?? null };
}

async function containerLog(container: Docker.Container): Promise<string> {
  try {
    const buf = (await container.logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
    return buf.toString('utf8').replace(/[\x00-\x08]/g, '');
  } catch {
    return '(no log)';
  }
}

/**
 * A random /24 in 10.200.0.0–10.239.255.0 that no route on this machine covers yet: several suites
 * may create networks at the same moment, so the choice is wide as well as checked.
 */
export function freeSubnet(): string {
  const used = new Set<string>();
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [, dest, , , , , , mask] = line.split('\t');
      if (!dest || !mask) continue;
      const n = Number.parseInt(dest, 16);
      // Routes are little-endian hex; a /24 or wider route blocks every /24 it covers.
      const bits = Number.parseInt(mask, 16).toString(2).replace(/0/g, '').length;
      if (bits === 0) continue;
      used.add(`${n & 255}.${(n >> 8) & 255}.${bits >= 24 ? (n >> 16) & 255 : '*'}`);
      if (bits < 16) used.add(`${n & 255}.*`);
    }
  } catch { /* no route table: take any */ }
  for (let i = 0; i < 200; i++) {
    const [a, b] = randomBytes(2);
    const second = 200 + (a! % 40);
    if (used.has(`10.*`) || used.has(`10.${second}.*`) || used.has(`10.${second}.${b}`)) continue;
    return `10.${second}.${b}.0/24`;
  }
  throw new Error('no free 10.2xx.x.0/24 subnet for a test network');
}

/** A lock directory naming its holder; a holder that died no longer blocks. */
async function lock(path: string): Promise<() => void> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(path);
      writeFileSync(join(path, 'pid'), String(process.pid));
      return () => rmSync(path, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(join(path, 'pid'), 'utf8'));
    } catch { /* being written */ }
    const st = statSync(path, { throwIfNoEntry: false });
    const stale = holder > 0 ? !existsSync(`/proc/${holder}`) : !st || Date.now() - st.mtimeMs > 10_000;
    if (stale) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path} (held by PID ${holder})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function output(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${bin} ${args.join(' ')} exited ${code}: ${out}`))));
  });
}

/** Runs a long build with its output in a log file; a failure shows the log's end. */
function run(bin: string, args: string[], log: string, timeoutMs: number): Promise<void> {
  const fd = openSync(log, 'w');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
        return;
      }
      const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-20).join('\n');
      reject(new Error(`${bin} failed (${signal ?? `exit ${code}`}); see ${log}:\n${tail}`));
    });
  }).finally(() => closeSync(fd));
}

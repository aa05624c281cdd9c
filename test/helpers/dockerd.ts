// Private container engines for the test suites: a dockerd or a podman service of their own, in a
// temp dir, on a unix socket there, stopped by PID when the test ends and removed with all they made.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Teardown {
  after(fn: () => void | Promise<void>): void;
}

export const DOCKER_INSTALL = 'apt-get install docker.io containerd runc';
export const PODMAN_INSTALL = 'apt-get install podman';

/**
 * Starts dockerd with its own data root, exec root (its own containerd lives there), pid file and
 * socket, without iptables, masquerading or the default bridge (environment.md). Returns the socket path.
 * With `usernsRemap`, the daemon maps container root to nobody's subordinate IDs (--userns-remap).
 */
export async function startDockerd(t: Teardown, opts: { usernsRemap?: boolean } = {}): Promise<string> {
  // Unix socket paths must stay under 108 bytes: keep the directory short.
  const dir = mkdtempSync(join(tmpdir(), 'ks-dockerd-'));
  const socket = join(dir, 'docker.sock');
  // An empty config file, so a machine's /etc/docker/daemon.json cannot change this daemon.
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const args = [
    '--config-file',
    join(dir, 'daemon.json'),
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'exec'),
    '--pidfile',
    join(dir, 'docker.pid'),
    '-H',
    `unix://${socket}`,
    '--iptables=false',
    '--ip-masq=false',
    '--bridge=none',
  ];
  let child: ChildProcess;
  if (opts.usernsRemap) {
    // dockerd reads the ranges from /etc/subuid and /etc/subgid: files of our own are bound over
    // them in a private mount namespace, so the host's stay as they are. dockerd will not remap root
    // to itself, so the ranges are nobody's; the remapped root must be able to pass through the directory.
    chmodSync(dir, 0o711);
    for (const f of ['subuid', 'subgid']) writeFileSync(join(dir, f), 'nobody:100000:65536\n');
    const group = execFileSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).trim();
    const script = 'd=$1; shift; mount --bind "$d/subuid" /etc/subuid && mount --bind "$d/subgid" /etc/subgid && exec dockerd "$@"';
    // unshare and sh exec into dockerd: the child's PID is the daemon's.
    child = launch('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', dir, ...args, '--userns-remap', `nobody:${group}`], dir, {});
  } else {
    child = launch('dockerd', args, dir, {});
  }
  t.after(() => stopEngine(child, dir, socket, 30_000));
  await waitForSocket(child, socket, dir, 60_000);
  return socket;
}

/**
 * Starts a rootful `podman system service` with its own storage, run dir, network config and
 * containers.conf (cgroupfs, file events, ulimits these machines allow). Returns the socket path.
 */
export async function startPodman(t: Teardown): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-podman-'));
  const socket = join(dir, 'podman.sock');
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, 'events.log')}"`,
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      '',
    ].join('\n'),
  );
  const chainsBefore = firewallChains();
  const args = [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'run'),
    '--tmpdir',
    join(dir, 'libpod'),
    '--network-config-dir',
    join(dir, 'net'),
    'system',
    'service',
    '--time=0',
    `unix://${socket}`,
  ];
  const child = launch('podman', args, dir, { CONTAINERS_CONF: conf });
  t.after(async () => {
    await stopEngine(child, dir, socket, 20_000);
    removeNewChains(chainsBefore);
  });
  await waitForSocket(child, socket, dir, 60_000);
  return socket;
}

function launch(bin: string, args: string[], dir: string, env: Record<string, string>): ChildProcess {
  const log = openSync(join(dir, 'daemon.log'), 'a');
  try {
    const child = spawn(bin, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
    // The daemon must not keep the test process alive; teardown stops it by PID.
    child.unref();
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(log);
  }
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'daemon.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

/** One HTTP request over the unix socket; resolves with status and body. */
export function api(socket: string, method: string, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function waitForSocket(child: ChildProcess, socket: string, dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.spawnfile} exited (${child.exitCode ?? child.signalCode}) before answering on ${socket}:\n${logTail(dir)}`);
    }
    try {
      if ((await api(socket, 'GET', '/_ping', 2000)).status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${child.spawnfile} did not answer on ${socket} within ${timeoutMs} ms:\n${logTail(dir)}`);
    await sleep(100);
  }
}

/**
 * Removes what tests left in the engine (containers, networks), stops it by PID, kills processes it
 * left behind (shims, conmon: found by their command lines naming our directory), unmounts what is
 * still mounted under the directory, and removes it.
 */
async function stopEngine(child: ChildProcess, dir: string, socket: string, graceMs: number): Promise<void> {
  const pid = child.pid;
  try {
    if (pid !== undefined && alive(pid)) {
      try {
        const containers = JSON.parse((await api(socket, 'GET', '/containers/json?all=1')).body) as { Id: string }[];
        await Promise.allSettled(containers.map((c) => api(socket, 'DELETE', `/containers/${c.Id}?force=1&v=1`, 30_000)));
        const networks = JSON.parse((await api(socket, 'GET', '/networks')).body) as { Id: string; Name: string }[];
        await Promise.allSettled(
          networks.filter((n) => !['bridge', 'host', 'none', 'podman'].includes(n.Name))
            .map((n) => api(socket, 'DELETE', `/networks/${n.Id}`)),
        );
      } catch { /* the daemon is not answering: stop it anyway */ }
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (alive(pid) && Date.now() < deadline) await sleep(100);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      while (alive(pid)) await sleep(50);
    }
  } finally {
    for (const p of processesNaming(dir)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch { /* already gone */ }
    }
    await sleep(100);
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  // A zombie still answers kill(0): read its state instead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function processesNaming(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(`${dir}/`)) pids.push(Number(name));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

function unmountUnder(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      execFileSync('umount', ['-l', p], { stdio: 'ignore' });
    } catch { /* already gone */ }
  }
}

function firewallChains(): Set<string> {
  const chains = new Set<string>();
  for (const table of ['filter', 'nat']) {
    try {
      const out = execFileSync('iptables', ['-t', table, '-S'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const m of out.matchAll(/^-N (\S+)$/gm)) chains.add(`${table}/${m[1]}`);
    } catch { /* no iptables: nothing to clean */ }
  }
  return chains;
}

/**
 * Podman's network backends (netavark, CNI) leave their iptables chains behind. Removes the ones
 * that appeared while our service ran, unless another podman still runs and may own them.
 */
function removeNewChains(before: Set<string>): void {
  const created = [...firewallChains()].filter((c) => !before.has(c) && /\/(NETAVARK|CNI)/.test(c));
  if (!created.length || otherPodmanRunning()) return;
  for (const chain of created) {
    const [table, name] = chain.split('/') as [string, string];
    // Drop the rules that jump to it first, then the chain itself.
    try {
      const rules = execFileSync('iptables', ['-t', table, '-S'], { encoding: 'utf8' }).split('\n').filter((r) =>
        r.startsWith('-A ') && r.includes(`-j ${name}`)
      );
      for (const r of rules) execFileSync('sh', ['-c', `iptables -t ${table} ${r.replace(/^-A /, '-D ')}`], { stdio: 'ignore' });
    } catch { /* best effort */ }
  }
  for (const chain of created) {
    const [table, name] = chain.split('/') as [string, string];
    try {
      execFileSync('iptables', ['-t', table, '-F', name], { stdio: 'ignore' });
    } catch { /* gone */ }
  }
  for (const chain of created) {
    const [table, name] = chain.split('/') as [string, string];
    try {
      execFileSync('iptables', ['-t', table, '-X', name], { stdio: 'ignore' });
    } catch { /* gone */ }
  }
}

export function otherPodmanRunning(): boolean {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv0 = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')[0] ?? '';
      if (/(^|\/)podman$/.test(argv0) && alive(Number(name))) return true;
    } catch { /* exited meanwhile */ }
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// What a test must leave as it found on this machine, read before and compared after: every mount
// and its options (the cgroup mounts above all: a systemd container once remounted the host's
// cgroup tmpfs read-only), the cgroup hierarchies, firewall rules, network interfaces and processes.
// Other suites run at the same time, so what only they can have made is left out of the comparison:
// mounts under temp dirs and network-namespace dirs, and rules, interfaces and processes that do not
// name the test's own subnets or names.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

export interface HostScope {
  /** Addresses and subnets the test uses (e.g. /^192\.168\.2[01]\d\./). */
  subnets: RegExp;
  /** Names and IDs the test creates: containers, networks, volumes, engine directories. */
  names: () => string[];
}

export interface HostState {
  mounts: string[];
  cgroups: string[];
  iptables: string[];
  interfaces: string[];
  processes: string[];
}

const OTHERS = [
  tmpdir(),
  '/run/netns',
  '/var/run/netns',
  '/run/containers',
  '/run/libpod',
  '/var/lib/containers',
  '/run/libvirt',
  '/var/lib/libvirt',
  '/run/docker',
  '/var/lib/docker',
];

function under(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => path === p || path.startsWith(`${p}/`));
}

/** One mount as the host sees it: point, per-mount options, type, source, superblock options (IDs dropped). */
function mounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => {
    const [left, right = ''] = line.split(' - ');
    const f = left!.split(' ');
    return { point: f[4]!.replace(/\\040/g, ' '), text: `${f[4]} ${f[5]} ${f[3]} - ${right}` };
  }).filter((m) => !under(m.point, OTHERS)).map((m) => m.text).sort();
}

function cgroups(): string[] {
  // Which controllers are in which hierarchy (a hierarchy a container mounted and left would show).
  const hier = readFileSync('/proc/cgroups', 'utf8').split('\n').slice(1).filter(Boolean).map((l) => {
    const [n, h, , e] = l.split('\t');
    return `${n} hierarchy=${h} enabled=${e}`;
  });
  return [...mounts().filter((m) => m.startsWith('/sys/fs/cgroup')), ...hier];
}

function run(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function iptables(): string[] {
  const out: string[] = [];
  for (const table of ['filter', 'nat', 'mangle']) {
    for (const l of run('iptables', ['-t', table, '-S']).split('\n').filter(Boolean)) out.push(`${table} ${l}`);
  }
  return out.sort();
}

function interfaces(): string[] {
  return run('ip', ['-o', 'addr', 'show']).split('\n').filter(Boolean).map((l) =>
    l.replace(/^\d+:\s*/, '').replace(/\s+valid_lft.*$/, '').replace(/\\\s*$/, '')
  ).sort();
}

function processes(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.includes(':pids:') || l.startsWith('0::')) ?? '';
      if (cmd) out.push(`${pid} ${cmd} [${cg}]`);
    } catch { /* exited meanwhile */ }
  }
  return out;
}

export function snapshotHost(): HostState {
  return { mounts: mounts(), cgroups: cgroups(), iptables: iptables(), interfaces: interfaces(), processes: processes() };
}

/**
 * What changed on the host that this test could have changed, one line each ('-' gone, '+' new).
 * Mounts and cgroups are compared whole; rules, interfaces and processes where they name the test's
 * subnets or names.
 */
export function hostChanges(before: HostState, after: HostState, scope: HostScope): string[] {
  const names = scope.names().filter((n) => n.length >= 6);
  const ours = (line: string) => scope.subnets.test(line) || names.some((n) => line.includes(n));
  const diff = (what: string, a: string[], b: string[], filter: (l: string) => boolean) => {
    const sa = new Set(a);
    const sb = new Set(b);
    return [
      ...a.filter((l) => !sb.has(l) && filter(l)).map((l) => `${what} - ${l}`),
      ...b.filter((l) => !sa.has(l) && filter(l)).map((l) => `${what} + ${l}`),
    ];
  };
  // A process is the test's if it still runs after and names the test's things; PIDs differ anyway.
  const leftover = after.processes.filter((p) => ours(p)).map((p) => `process left: ${p}`);
  return [
    ...diff('mount', before.mounts, after.mounts, () => true),
    ...diff('cgroup', before.cgroups, after.cgroups, () => true),
    ...diff('iptables', before.iptables, after.iptables, ours),
    ...diff('interface', before.interfaces, after.interfaces, ours),
    ...leftover,
  ];
}

export interface Sharer {
  pid: number;
  ns: string;
  cmdline: string;
  cgroup: string;
}

/**
 * Processes in other mount namespaces that see the host's own /sys/fs/cgroup tmpfs (the same
 * device) at /sys/fs/cgroup: containers given the host's cgroup tmpfs, which can remount it for the
 * whole machine. A node container must never be one.
 */
export function cgroupSharers(): Sharer[] {
  const hostDev = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/sys/fs/cgroup')?.split(' ')[2];
  const ownNs = safe(() => readlinkSync('/proc/self/ns/mnt'));
  if (!hostDev) return [];
  const hostRoot = statSync('/');
  const seen = new Set<string>();
  const out: Sharer[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const ns = safe(() => readlinkSync(`/proc/${pid}/ns/mnt`));
    if (!ns || ns === ownNs || seen.has(ns)) continue;
    seen.add(ns);
    const info = safe(() => readFileSync(`/proc/${pid}/mountinfo`, 'utf8')) ?? '';
    if (
      !info.split('\n').some((l) => {
        const f = l.split(' ');
        return f[4] === '/sys/fs/cgroup' && f[2] === hostDev;
      })
    ) continue;
    // A copy of the host's namespace (a rootless podman's pause process) has the host's root: not a container.
    const root = safe(() => statSync(`/proc/${pid}/root/`));
    if (!root || (root.dev === hostRoot.dev && root.ino === hostRoot.ino)) continue;
    out.push({
      pid: Number(pid),
      ns,
      cmdline: (safe(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8')) ?? '').replace(/\0/g, ' ').trim(),
      cgroup: (safe(() => readFileSync(`/proc/${pid}/cgroup`, 'utf8')) ?? '').split('\n').find((l) => l.includes(':pids:')) ?? '',
    });
  }
  return out;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/**
 * The comparison a test asserts. While another suite's container shares the host's cgroup tmpfs
 * (cgroupSharers), changes to that tmpfs's options cannot be told apart from ours: they are left out
 * and returned as `foreign`, and the test must assert separately, while its nodes run, that none of
 * them shares it.
 */
export function hostChangesExplained(before: HostState, after: HostState, scope: HostScope, sharers: Sharer[]): { changes: string[]; foreign: string[] } {
  const all = hostChanges(before, after, scope);
  if (!sharers.length) return { changes: all, foreign: [] };
  const cgroupTmpfs = (l: string) => /^(mount|cgroup) [-+] \/sys\/fs\/cgroup \S+ \/ - tmpfs /.test(l);
  return {
    changes: all.filter((l) => !cgroupTmpfs(l)),
    foreign: [...all.filter(cgroupTmpfs), ...sharers.map((s) => `shared by pid ${s.pid} ${s.cmdline} [${s.cgroup}]`)],
  };
}

/** Asserts that none of the given container PIDs shares the host's cgroup tmpfs; returns the foreign sharers seen. */
export function sharersBesides(pids: number[]): { mine: Sharer[]; others: Sharer[] } {
  const ours = new Set(pids.map((p) => safe(() => readlinkSync(`/proc/${p}/ns/mnt`))).filter(Boolean));
  const all = cgroupSharers();
  return { mine: all.filter((s) => ours.has(s.ns)), others: all.filter((s) => !ours.has(s.ns)) };
}

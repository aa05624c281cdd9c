// The workload users run: `kubestrap start --dry-run` of the shipped recipe, for the none driver on
// this machine and for the ssh driver against the benchmark's sshd, and how many programs a plan
// starts (strace -f -e trace=execve: kubestrap itself, its children and what they start).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { timeProcess } from './measure.ts';
import { dirname, join } from 'node:path';
import type { Target } from './ssh-loops.ts';

export const NONE_PLAN = 'kubestrap start --driver none --dry-run --format json';
export const SSH_PLAN = 'kubestrap start --driver ssh --dry-run';

/**
 * A KUBESTRAP_HOME whose download cache holds the release checksum files the plan reads, as after
 * a first plan on a machine online: this machine reaches no release server, and a plan that tries
 * to would measure the network instead (the files' contents do not matter to the timing).
 */
export function seededHome(dir: string, version = 'v1.31.4', crictl = 'v1.31.0'): string {
  const urls = [
    ...['kubelet', 'kubeadm', 'kubectl'].map((b) => `https://dl.k8s.io/release/${version}/bin/linux/amd64/${b}.sha256`),
    `https://github.com/kubernetes-sigs/cri-tools/releases/download/${crictl}/crictl-${crictl}-linux-amd64.tar.gz.sha256`,
  ];
  for (const url of urls) {
    // core/context.ts downloadCachePath: keyed by the URL.
    const key = createHash('sha256').update(url).digest('hex');
    const path = join(dir, 'cache', 'downloads', key.slice(0, 16), new URL(url).pathname.split('/').pop()!);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${key}\n`);
  }
  return dir;
}

export function nonePlanArgv(cli: string): string[] {
  return ['node', cli, 'start', '--driver', 'none', '--dry-run', '--format', 'json'];
}

export function sshPlanArgv(cli: string, t: Target): string[] {
  return ['node', cli, 'start', '--driver', 'ssh', '--dry-run', '--ssh-ip-address', t.address, '--ssh-port', String(t.port), '--ssh-user', t.user, '--ssh-key', t.key];
}

/**
 * Wall time of a run, and its CPU time (user + system, its children included) as GNU time reports
 * it: the CPU time varies less than the wall time on a machine that other work keeps busy.
 */
export function timeWithCpu(argv: string[], env: NodeJS.ProcessEnv, cpuFile: string, cpu: number[]): number {
  const wall = timeProcess(['/usr/bin/time', '-f', '%U %S', '-o', cpuFile, ...argv], { env });
  const [user, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  cpu.push(((user ?? NaN) + (sys ?? NaN)) * 1000);
  return wall;
}

/** Programs a command starts, itself included: every execve that succeeded, in every process it forks. */
export function countPrograms(argv: string[], env: NodeJS.ProcessEnv, traceFile: string): { count: number; programs: string[] } | undefined {
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=execve', '-o', traceFile, ...argv], { env, stdio: 'ignore' });
  if (r.error || r.status !== 0) return undefined;
  const programs: string[] = [];
  const pending = new Map<string, string>();
  for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
    // `PID execve("/bin/sh", […]) = 0`, or split by another process's line into "unfinished" and "resumed".
    const pid = line.split(' ')[0]!;
    const m = /execve\("([^"]+)"/.exec(line);
    if (m && line.includes('<unfinished ...>')) { pending.set(pid, m[1]!); continue; }
    if (!/= 0$/.test(line)) continue;
    if (m) programs.push(m[1]!);
    else if (line.includes('<... execve resumed>')) programs.push(pending.get(pid) ?? '(unknown)');
  }
  return { count: programs.length, programs };
}

// The workload users run: `kubestrap start --dry-run` of the shipped recipe, for the none driver on
// this machine and for the ssh driver against the benchmark's sshd, and how many programs a plan
// starts (strace -f -e trace=execve: kubestrap itself, its children and what they start).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { timeProcess } from './measure.ts';
import { basename, dirname, join } from 'node:path';
import { downloadCachePath, sha256 } from '../core/context.ts';
import type { Target } from './ssh-loops.ts';

export const NONE_PLAN = 'kubestrap start --driver none --dry-run --format json';
export const SSH_PLAN = 'kubestrap start --driver ssh --dry-run';

/**
 * A KUBESTRAP_HOME whose download cache holds the release checksum files the plan reads, as after
 * a first plan on a machine online: this machine reaches no release server, and a plan that tries
 * to would measure the network instead (the files' contents do not matter to the timing). The files
 * are the ones a first plan lists as downloads without a checksum, so the seed follows the versions
 * the recipe defaults to.
 */
export function seededHome(dir: string, argv: string[], env: NodeJS.ProcessEnv): string {
  const first = spawnSync(argv[0]!, argv.slice(1), { env: { ...env, KUBESTRAP_HOME: dir }, encoding: 'utf8' });
  const plan = JSON.parse(first.stdout) as { steps: { effects?: { kind: string; url?: string; sha256?: string }[] }[] };
  const urls = plan.steps.flatMap((s) => s.effects ?? []).filter((e) => e.kind === 'download' && !e.sha256).map((e) => e.url!);
  for (const url of new Set(urls)) {
    const path = downloadCachePath(join(dir, 'cache', 'downloads'), url);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${sha256(url)}  ${basename(path).replace(/\.sha256(sum)?$/, '')}\n`);
  }
  return dir;
}

export function nonePlanArgv(cli: string): string[] {
  return ['node', cli, 'start', '--driver', 'none', '--dry-run', '--format', 'json'];
}

export function sshPlanArgv(cli: string, t: Target): string[] {
  return [
    'node',
    cli,
    'start',
    '--driver',
    'ssh',
    '--dry-run',
    '--ssh-ip-address',
    t.address,
    '--ssh-port',
    String(t.port),
    '--ssh-user',
    t.user,
    '--ssh-key',
    t.key,
  ];
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
    if (m && line.includes('<unfinished ...>')) {
      pending.set(pid, m[1]!);
      continue;
    }
    if (!/= 0$/.test(line)) continue;
    if (m) programs.push(m[1]!);
    else if (line.includes('<... execve resumed>')) programs.push(pending.get(pid) ?? '(unknown)');
  }
  return { count: programs.length, programs };
}

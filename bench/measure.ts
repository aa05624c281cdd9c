// Timing plumbing for the benchmark: wall time of a process or a function, medians.
import { spawnSync } from 'node:child_process';

export interface Sample {
  name: string;
  ms: number[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs a command to completion and returns its wall time; throws with its output if it fails. */
export function timeProcess(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const t0 = performance.now();
  // Output goes to /dev/null: a pipe read by this process would add its own cost.
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: 'ignore' });
  const ms = performance.now() - t0;
  if (r.status !== 0) {
    const again = spawnSync(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8' });
    throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}:\n${again.stdout}\n${again.stderr}`.slice(0, 4000));
  }
  return ms;
}

export async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Runs every variant once per round, `rounds` times, interleaved so that a machine whose load drifts
 * affects all variants alike.
 */
export async function rounds(
  count: number,
  variants: Record<string, () => number | Promise<number>>,
  log: (s: string) => void,
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < count; i++) {
    for (const [name, fn] of Object.entries(variants)) {
      const ms = await fn();
      out.get(name)!.push(ms);
      log(`  round ${i + 1}/${count}  ${name}: ${ms.toFixed(1)} ms`);
    }
  }
  return out;
}

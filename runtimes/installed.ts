// What a node already runs, found by its binaries whatever installed them (Debian's packages,
// Docker's containerd.io/docker-ce, a static release in /usr/local/bin): path, version and the
// package that owns the file. One read-only probe for every binary a runtime looks for, declared
// as a fact, so the host's gathering script answers it once for the whole plan.
import type { TaskContext } from '../core/context.ts';
import { shellFact, type FactProbe } from '../core/facts.ts';

export interface FoundBinary {
  name: string;
  path: string;
  /** x.y.z from `NAME --version`; undefined when it printed none. */
  version?: string;
  /** The first line `--version` printed. */
  versionLine: string;
  /** The package that owns the file (dpkg or rpm); undefined for a file no package owns. */
  owner?: string;
}

/** Every binary a runtime or preflight looks for (a task asking for some gets the same one fact). */
export const RUNTIME_BINARIES = ['containerd', 'runc', 'dockerd'] as const;
export type RuntimeBinary = (typeof RUNTIME_BINARIES)[number];

// The first line and the owner are cut out by the shell's own `read` and `${l%%:*}`: per binary it
// starts only the binary itself and dpkg-query (or rpm where there is one).
const SCRIPT = [
  'for b in "$@"; do',
  '  p=$(command -v "$b" 2>/dev/null) || continue',
  '  v=$("$p" --version 2>/dev/null </dev/null | { IFS= read -r l; printf %s "$l"; })',
  '  o=$(dpkg-query -S "$p" 2>/dev/null | while IFS= read -r l; do case $l in diversion*) ;; *) printf %s "${l%%:*}"; break ;; esac; done)',
  '  [ -n "$o" ] || ! command -v rpm >/dev/null 2>&1 || o=$(rpm -qf --qf "%{NAME}" "$p" 2>/dev/null) || o=',
  '  printf "binary\\t%s\\t%s\\t%s\\t%s\\n" "$b" "$p" "$o" "$v"',
  'done',
].join('\n');

/** The one probe for RUNTIME_BINARIES; tasks that call findBinaries declare it in `facts:`. */
export function runtimeBinaries(): FactProbe {
  return shellFact(SCRIPT, ...RUNTIME_BINARIES);
}

/** The first dotted x.y.z in a `--version` line (`containerd containerd.io 1.7.25 …`, `runc version 1.1.5+ds1`). */
export function versionIn(line: string): string | undefined {
  return /\bv?(\d+\.\d+\.\d+)/.exec(line)?.[1];
}

export function parseBinaries(stdout: string): Map<string, FoundBinary> {
  const found = new Map<string, FoundBinary>();
  for (const line of stdout.split('\n')) {
    const [tag, name, path, owner, versionLine = ''] = line.split('\t');
    if (tag !== 'binary' || !name || !path) continue;
    const version = versionIn(versionLine);
    found.set(name, { name, path, versionLine: versionLine.trim(), ...(version ? { version } : {}), ...(owner ? { owner } : {}) });
  }
  return found;
}

/** The named commands on the host's PATH, each with its version and owning package. */
export async function findBinaries(ctx: TaskContext, names: readonly RuntimeBinary[]): Promise<Map<string, FoundBinary>> {
  const all = parseBinaries((await ctx.fact(runtimeBinaries())).stdout);
  return new Map([...all].filter(([name]) => (names as readonly string[]).includes(name)));
}

/** Where a binary came from, in words: "package containerd.io" or "no package (a static install)". */
export function sourceOf(b: FoundBinary): string {
  return b.owner ? `package ${b.owner}` : 'no package (installed by hand)';
}

/** Numeric x.y.z order. */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0) ? -1 : 1;
  return 0;
}

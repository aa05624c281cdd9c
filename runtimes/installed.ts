// What a node already runs, found by its binaries whatever installed them (Debian's packages,
// Docker's containerd.io/docker-ce, a static release in /usr/local/bin): path, version and the
// package that owns the file. One read-only probe for all of them, so host facts can gather it.
import type { TaskContext } from '../core/context.ts';
import { once } from '../tasks/k8s/once.ts';

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

const SCRIPT = [
  'for b in "$@"; do',
  '  p=$(command -v "$b" 2>/dev/null) || continue',
  '  v=$("$p" --version 2>/dev/null | head -n 1)',
  '  o=$(dpkg-query -S "$p" 2>/dev/null | grep -v "^diversion" | head -n 1 | cut -d: -f1)',
  '  [ -n "$o" ] || o=$(rpm -qf --qf "%{NAME}" "$p" 2>/dev/null) || o=',
  '  printf "binary\\t%s\\t%s\\t%s\\t%s\\n" "$b" "$p" "$o" "$v"',
  'done',
].join('\n');

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
export function findBinaries(ctx: TaskContext, names: readonly string[]): Promise<Map<string, FoundBinary>> {
  return once(ctx, `binaries ${names.join(' ')}`, async () => parseBinaries((await ctx.probe`sh -c ${SCRIPT} find-binaries ${[...names]}`).stdout));
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

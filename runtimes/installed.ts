// What a node already runs, found by its binaries whatever installed them (Debian's packages,
// Docker's containerd.io/docker-ce, a static release in /usr/local/bin): path, version and the
// package that owns the file. One read-only probe for every binary a runtime looks for, declared
// as a fact, so the host's gathering script answers it once for the whole plan.
import type { TaskContext } from '../core/context.ts';
import { type FactProbe, memoized, shellFact, slow } from '../core/facts.ts';

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

/**
 * The packages that usually own those binaries (Debian's and Docker's). Only a shortcut: their file
 * lists are one cheap query, and a path none of them owns is looked up with `dpkg-query -S`.
 */
const USUAL_OWNERS = ['containerd', 'runc', 'docker.io', 'containerd.io', 'docker-ce'];

// Arguments: the binaries, `--`, the usual owners. The `--version` runs start in the background
// (dockerd's alone takes a tenth of a second), each printing its one line; meanwhile the owners:
// the usual packages' file lists in dpkg's database, searched by one grep (a package's
// `info/NAME.list`, or `NAME:ARCH.list` for a multi-arch one; a removed package's list keeps only
// its conffiles, so it owns no binary; /dev/null makes grep name the file of each line), then `dpkg-query -S` (a tenth of a second: it reads every
// package's list) only for paths they do not hold; rpm -qf where there is no dpkg.
const SCRIPT = [
  'n=0; for a in "$@"; do n=$((n + 1)); [ "$a" = -- ] && break; done',
  'm=$#',
  'for b in "$@"; do',
  '  [ "$b" = -- ] && break',
  '  p=$(command -v "$b" 2>/dev/null) || continue',
  '  ( v=$("$p" --version 2>/dev/null </dev/null | { IFS= read -r l; printf %s "$l"; }); printf "binary\\t%s\\t%s\\t%s\\n" "$b" "$p" "$v" ) &',
  '  set -- "$@" "$p"',
  'done',
  'u=$(i=0; for a in "$@"; do i=$((i + 1)); [ $i -gt $n ] && [ $i -le $m ] && printf "%s\\n" "$a"; done)',
  'shift "$m"',
  'if [ $# -gt 0 ] && command -v dpkg-query >/dev/null 2>&1; then',
  '  t=$(printf "\\t")',
  '  l=$(for q in $u; do for f in /var/lib/dpkg/info/"$q".list /var/lib/dpkg/info/"$q":*.list; do [ -f "$f" ] && printf "%s\\n" "$f"; done; done)',
  '  # shellcheck disable=SC2086 # the lists are dpkg file names: no spaces, no wildcards',
  '  o=$([ -z "$l" ] || grep -Fx -e "$(printf "%s\\n" "$@")" -- $l /dev/null | while IFS= read -r r; do f=${r%%:/*}; f=${f##*/}; f=${f%.list}; printf "owner\\t/%s\\t%s\\n" "${r#*:/}" "${f%%:*}"; done)',
  '  [ -z "$o" ] || printf "%s\\n" "$o"',
  '  for p in "$@"; do case "$o" in *"owner$t$p$t"*) ;; *) set -- "$@" "$p" ;; esac; shift; done',
  '  [ $# -eq 0 ] || dpkg-query -S -- "$@" 2>/dev/null | while IFS= read -r l; do case $l in diversion*) ;; *": /"*) printf "owner\\t%s\\t%s\\n" "${l#*: }" "${l%%: /*}" ;; esac; done',
  'elif [ $# -gt 0 ] && command -v rpm >/dev/null 2>&1; then',
  '  for p in "$@"; do o=$(rpm -qf --qf "%{NAME}" -- "$p" 2>/dev/null) && printf "owner\\t%s\\t%s\\n" "$p" "$o"; done',
  'fi',
  'wait',
  'exit 0',
].join('\n');

// What the answer follows from: each binary's path and its identity (device, inode, size, and
// modification and change times: a file written over in place gets a new ctime, which no one can
// set), and the package databases, which every install or removal rewrites. One stat for all.
const VALIDATOR = [
  'p=$(for b in "$@"; do [ "$b" = -- ] && break; command -v "$b"; done)',
  '# shellcheck disable=SC2086 # the paths are split as command -v printed them, one a line',
  "stat -L -c '%n %d %i %s %.9Y %.9Z' -- $p /var/lib/dpkg/status /var/lib/rpm 2>/dev/null",
].join('\n');

/**
 * The one probe for RUNTIME_BINARIES; tasks that call findBinaries declare it in `facts:`. Slow
 * (dockerd --version alone takes a tenth of a second), so its answer is kept from the last plan or
 * run on the host while none of the binaries and no package changed (core/fact-memo.ts).
 */
export function runtimeBinaries(): FactProbe {
  const fact = shellFact(SCRIPT, ...RUNTIME_BINARIES, '--', ...USUAL_OWNERS);
  return slow(memoized(fact, `(set -- ${[...RUNTIME_BINARIES, '--'].join(' ')}\n${VALIDATOR}\n)`));
}

/** The first dotted x.y.z in a `--version` line (`containerd containerd.io 1.7.25 …`, `runc version 1.1.5+ds1`). */
export function versionIn(line: string): string | undefined {
  return /\bv?(\d+\.\d+\.\d+)/.exec(line)?.[1];
}

/** `binary NAME PATH VERSION-LINE` per binary found, then `owner PATH PACKAGES` per owned path. */
export function parseBinaries(stdout: string): Map<string, FoundBinary> {
  const found = new Map<string, FoundBinary>();
  const owners = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [tag, a, b] = line.split('\t');
    // dpkg names a multi-arch package with its architecture (containerd:amd64).
    if (tag === 'owner' && a && b && !owners.has(a)) owners.set(a, b.replace(/:[a-z0-9-]+(?=,|$)/g, ''));
  }
  for (const line of stdout.split('\n')) {
    const [tag, name, path, versionLine = ''] = line.split('\t');
    if (tag !== 'binary' || !name || !path) continue;
    const version = versionIn(versionLine);
    const owner = owners.get(path);
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

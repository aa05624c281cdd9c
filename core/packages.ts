// Package managers: how to ask one what is installed, what a transaction would really do (a
// simulation, read-only, without root), and how to read its answer. The plan lists every package a
// transaction installs, upgrades, downgrades or removes, so nothing the user installed disappears
// unannounced.
import type { PackageChange, PackageEffect, PackageTransaction } from './effects.ts';
import { buildCommand, type Command } from './quote.ts';

export type PackageManager = PackageEffect['manager'];

const cmd = (pieces: TemplateStringsArray, ...values: unknown[]): Command => buildCommand(pieces, values);

/**
 * One read-only script: the package manager, then `name version` for each of the named packages
 * that is installed. The only package-state probe, so host facts can gather it with the rest.
 */
export const PACKAGE_STATE_SCRIPT = [
  'for m in apt-get dnf yum zypper pacman apk; do command -v "$m" >/dev/null 2>&1 && break; m=; done',
  '[ -n "$m" ] || exit 3',
  'echo "manager $m"',
  '[ $# -gt 0 ] || exit 0',
  'case $m in',
  '  apt-get) dpkg-query -W -f \'${db:Status-Status} ${Package} ${Version}\\n\' -- "$@" 2>/dev/null | while read -r s p v; do [ "$s" = installed ] && echo "package $p $v"; done ;;',
  '  dnf|yum|zypper) rpm -q --qf \'package %{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\\n\' -- "$@" 2>/dev/null | grep "^package " ;;',
  '  pacman) pacman -Q -- "$@" 2>/dev/null | sed "s/^/package /" ;;',
  '  apk) for p in "$@"; do apk info -e -- "$p" >/dev/null 2>&1 && echo "package $p"; done ;;',
  'esac',
  'exit 0',
].join('\n');

/**
 * What the package query's answer follows from, for the gathering to keep it (core/fact-memo.ts):
 * the package managers on PATH and a stat of their databases. dpkg replaces its status file on each
 * change and journals unfinished ones in updates/; rpm's, pacman's and apk's change in place.
 */
export const PACKAGE_STATE_VALIDATOR = [
  'for m in apt-get dnf yum zypper pacman apk; do command -v "$m"; done',
  "stat -L -c '%n %d %i %s %.9Y %.9Z' -- /var/lib/dpkg/status /var/lib/dpkg/updates /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages \\",
  '  /var/lib/pacman/local /lib/apk/db/installed 2>/dev/null',
].join('\n');

export function packageStateCommand(names: readonly string[]): Command {
  return cmd`sh -c ${PACKAGE_STATE_SCRIPT} package-state ${[...names]}`;
}

export interface PackageState {
  manager: PackageManager;
  /** Installed packages among the ones asked about, with their versions. */
  installed: Map<string, string>;
}

/** Reads packageStateCommand's output; undefined when no supported manager was found. */
export function parsePackageState(stdout: string): PackageState | undefined {
  let manager: PackageManager | undefined;
  const installed = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [tag, a, b] = line.trim().split(/\s+/);
    if (tag === 'manager' && a) manager = (a === 'apt-get' ? 'apt' : a) as PackageManager;
    if (tag === 'package' && a) installed.set(a, b ?? '');
  }
  return manager ? { manager, installed } : undefined;
}

/** The command that makes the transaction. Without `allowRemovals`, apt refuses to remove anything. */
export function packagesCommand(e: Pick<PackageEffect, 'manager' | 'action' | 'names' | 'allowRemovals'>): Command {
  const names = [...e.names];
  switch (e.manager) {
    case 'apt':
      if (e.action === 'remove') return cmd`env DEBIAN_FRONTEND=noninteractive apt-get remove -y -- ${names}`;
      return e.allowRemovals
        ? cmd`env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -- ${names}`
        : cmd`env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-remove -- ${names}`;
    case 'dnf':
    case 'yum':
      // dnf and yum never remove a conflicting package unless told to (--allowerasing).
      return e.action === 'install'
        ? (e.allowRemovals ? cmd`${e.manager} install -y --allowerasing ${names}` : cmd`${e.manager} install -y ${names}`)
        : cmd`${e.manager} remove -y ${names}`;
    case 'zypper':
      return e.action === 'install' ? cmd`zypper --non-interactive install ${names}` : cmd`zypper --non-interactive remove ${names}`;
    case 'pacman':
      // --noconfirm answers "remove the conflicting package?" with its default, no.
      return e.action === 'install' ? cmd`pacman -S --noconfirm --needed ${names}` : cmd`pacman -R --noconfirm ${names}`;
    case 'apk':
      return e.action === 'install' ? cmd`apk add ${names}` : cmd`apk del ${names}`;
  }
}

/**
 * `apt-get "$@"` with two caches under kubestrap's home on that host, both checked against the
 * state that decides apt's answer:
 * - Its answer. A simulation follows from its arguments, apt's configuration and lists and dpkg's
 *   status: while none of those files changed (path, size, inode, modification and change time),
 *   the same simulation prints the answer it printed before instead of resolving again (about 1 s
 *   of CPU each). A file that cannot be read, or a stat that cannot say this, skips the cache.
 * - Where the system keeps no package cache (Docker's Debian images: Dir::Cache::pkgcache ""),
 *   which makes apt rebuild it from the lists in every process: one there. apt checks that cache
 *   against the lists and dpkg's status itself.
 */
const APT_SIMULATE = [
  'export LC_ALL=C',
  'd=${KUBESTRAP_HOME:-$HOME/.kubestrap}/cache/apt',
  'state=$(stat -c "%n %s %i %.9Y %.9Z" /etc/apt /etc/apt/* /etc/apt/*/* /var/lib/dpkg/status /var/lib/dpkg/arch /var/lib/dpkg/updates /var/lib/apt/extended_states /var/lib/apt/lists /var/lib/apt/lists/* 2>/dev/null)',
  'f=',
  'case $state in *"/var/lib/dpkg/status "*)',
  '  h=$(printf "%s\\n" "$*" "${APT_CONFIG-}" "$state" | sha256sum) && f=$d/answers/${h%% *}',
  '  [ -r "$f" ] && exec cat -- "$f" ;;',
  'esac',
  'eval "$(apt-config shell c Dir::Cache::pkgcache)"',
  '[ -n "$c" ] || ! mkdir -p -- "$d" 2>/dev/null || set -- -o "Dir::Cache::pkgcache=$d/pkgcache.bin" "$@"',
  '[ -n "$f" ] && mkdir -p -- "$d/answers" 2>/dev/null || exec apt-get "$@"',
  'apt-get "$@" >"$f.$$"; s=$?',
  'cat -- "$f.$$"',
  'if [ $s = 0 ]; then find "$d/answers" -type f -mtime +7 -exec rm -f -- {} + 2>/dev/null; mv -f -- "$f.$$" "$f"; else rm -f -- "$f.$$"; fi',
  'exit $s',
].join('\n');

/** The read-only simulation of the same transaction (no root needed). */
export function simulateCommand(manager: PackageManager, action: 'install' | 'remove', names: readonly string[]): Command {
  const n = [...names];
  switch (manager) {
    case 'apt':
      return action === 'install'
        ? cmd`sh -c ${APT_SIMULATE} apt-get -s install --no-install-recommends -- ${n}`
        : cmd`sh -c ${APT_SIMULATE} apt-get -s remove -- ${n}`;
    case 'dnf':
    case 'yum':
      // --allowerasing shows what a conflict would erase; the real command only does so when allowed.
      return action === 'install' ? cmd`env LC_ALL=C ${manager} install --assumeno --allowerasing ${n}` : cmd`env LC_ALL=C ${manager} remove --assumeno ${n}`;
    case 'zypper':
      return action === 'install'
        ? cmd`env LC_ALL=C zypper --non-interactive install --dry-run ${n}`
        : cmd`env LC_ALL=C zypper --non-interactive remove --dry-run ${n}`;
    case 'pacman':
      return action === 'install' ? cmd`pacman -S --print --print-format ${'%n %v'} --needed ${n}` : cmd`pacman -R --print --print-format ${'%n %v'} ${n}`;
    case 'apk':
      return action === 'install' ? cmd`apk add --simulate ${n}` : cmd`apk del --simulate ${n}`;
  }
}

const empty = (): PackageTransaction => ({ install: [], upgrade: [], downgrade: [], remove: [] });

/**
 * What the simulation says the transaction does. `installed` gives the versions now installed,
 * so an apt `Inst` of an installed package is told apart as an upgrade or a downgrade.
 */
export function parseSimulation(
  manager: PackageManager,
  action: 'install' | 'remove',
  stdout: string,
  installed: ReadonlyMap<string, string> = new Map(),
): PackageTransaction {
  switch (manager) {
    case 'apt':
      return parseApt(stdout);
    case 'dnf':
    case 'yum':
      return parseDnf(stdout);
    case 'zypper':
      return parseZypper(stdout);
    case 'pacman':
      return parsePacman(action, stdout, installed);
    case 'apk':
      return parseApk(stdout);
  }
}

/** `Inst name [old] (new …)`, `Remv name [old]`; `Conf` lines repeat the Inst ones. */
function parseApt(stdout: string): PackageTransaction {
  const t = empty();
  for (const line of stdout.split('\n')) {
    const inst = /^Inst (\S+) (?:\[([^\]]+)\] )?\((\S+)/.exec(line);
    if (inst) {
      const [, name, from, version] = inst as unknown as [string, string, string | undefined, string];
      if (from === undefined) t.install.push({ name, version });
      else (compareDebianVersions(version, from) < 0 ? t.downgrade : t.upgrade).push({ name, version, from });
      continue;
    }
    const remv = /^(?:Remv|Purg) (\S+)(?: \[([^\]]+)\])?/.exec(line);
    if (remv) t.remove.push({ name: remv[1]!, version: remv[2] ?? '' });
  }
  return t;
}

/** dnf/yum's transaction table: a section heading, then `name arch version repo size` rows. */
function parseDnf(stdout: string): PackageTransaction {
  const t = empty();
  let into: PackageChange[] | undefined;
  for (const raw of stdout.split('\n')) {
    const line = raw.trimEnd();
    const heading = /^(Installing|Upgrading|Downgrading|Removing|Reinstalling)( dependencies| weak dependencies| dependent packages| unused dependencies)?:/i
      .exec(line.trim());
    if (heading) {
      const w = heading[1]!.toLowerCase();
      into = w === 'installing' ? t.install : w === 'upgrading' ? t.upgrade : w === 'downgrading' ? t.downgrade : w === 'removing' ? t.remove : undefined;
      continue;
    }
    if (!into) continue;
    if (!line.trim() || /^Transaction Summary/.test(line.trim())) {
      into = undefined;
      continue;
    }
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 3 && /^\s/.test(raw)) into.push({ name: cols[0]!, version: cols[2]! });
  }
  return t;
}

/** zypper: "The following N NEW packages are going to be installed:" then names on indented lines. */
function parseZypper(stdout: string): PackageTransaction {
  const t = empty();
  let into: PackageChange[] | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^The following .*packages? (?:is|are) going to be (installed|upgraded|downgraded|REMOVED)/i.exec(line);
    if (m) {
      const w = m[1]!.toLowerCase();
      into = w === 'installed' ? t.install : w === 'upgraded' ? t.upgrade : w === 'downgraded' ? t.downgrade : t.remove;
      continue;
    }
    if (!line.trim()) {
      into = undefined;
      continue;
    }
    if (into && /^\s/.test(line)) { for (const name of line.trim().split(/\s+/)) into.push({ name, version: '' }); }
  }
  return t;
}

/** pacman --print: `name version` per package it would install (or remove). */
function parsePacman(action: 'install' | 'remove', stdout: string, installed: ReadonlyMap<string, string>): PackageTransaction {
  const t = empty();
  for (const line of stdout.split('\n')) {
    const [name, version] = line.trim().split(/\s+/);
    if (!name || !version || name.startsWith('::')) continue;
    if (action === 'remove') t.remove.push({ name, version });
    else if (installed.has(name)) t.upgrade.push({ name, version, from: installed.get(name)! });
    else t.install.push({ name, version });
  }
  return t;
}

/** apk: `(1/3) Installing name (version)`, `Upgrading name (a -> b)`, `Downgrading …`, `Purging name (version)`. */
function parseApk(stdout: string): PackageTransaction {
  const t = empty();
  for (const line of stdout.split('\n')) {
    const m = /^\(\d+\/\d+\) (Installing|Upgrading|Downgrading|Purging|Deleting) (\S+) \(([^)]*)\)/.exec(line.trim());
    if (!m) continue;
    const [, what, name, v] = m as unknown as [string, string, string, string];
    const [from, to] = v.includes(' -> ') ? v.split(' -> ') : [undefined, v];
    if (what === 'Installing') t.install.push({ name, version: to! });
    else if (what === 'Upgrading') t.upgrade.push({ name, version: to!, from: from! });
    else if (what === 'Downgrading') t.downgrade.push({ name, version: to!, from: from! });
    else t.remove.push({ name, version: to! });
  }
  return t;
}

/** True when a transaction takes away something already installed. */
export function takesAway(t: PackageTransaction): boolean {
  return t.remove.length > 0 || t.downgrade.length > 0;
}

/** Debian's version order (dpkg --compare-versions): epoch, then upstream and revision by dpkg's rules. */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(':');
    const epoch = colon >= 0 ? Number(v.slice(0, colon)) || 0 : 0;
    const rest = colon >= 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : '0' };
  };
  const x = split(a), y = split(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return comparePart(x.upstream, y.upstream) || comparePart(x.revision, y.revision);
}

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run, compared character by character with ~ before everything, letters before the rest.
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ca = i < a.length && !/\d/.test(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j]!) ? b[j] : undefined;
      const d = order(ca) - order(cb);
      if (d) return d < 0 ? -1 : 1;
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    let na = '', nb = '';
    while (i < a.length && /\d/.test(a[i]!)) na += a[i++];
    while (j < b.length && /\d/.test(b[j]!)) nb += b[j++];
    const d = Number(na || '0') - Number(nb || '0');
    if (d) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** What a transaction does, removals and downgrades first and in capitals: they take away what is installed. */
export function describeTransaction(t: PackageTransaction): string {
  const list = (xs: PackageChange[], arrow = false) =>
    xs.map((c) => `${c.name}${arrow && c.from ? ` ${c.from} → ${c.version}` : c.version ? ` ${c.version}` : ''}`).join(', ');
  const parts: string[] = [];
  if (t.remove.length) parts.push(`REMOVES ${list(t.remove)}`);
  if (t.downgrade.length) parts.push(`DOWNGRADES ${list(t.downgrade, true)}`);
  if (t.install.length) parts.push(`installs ${list(t.install)}`);
  if (t.upgrade.length) parts.push(`upgrades ${list(t.upgrade, true)}`);
  return parts.join('; ') || 'nothing to change';
}

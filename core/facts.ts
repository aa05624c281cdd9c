// Facts about a host, gathered in one shell script instead of one process per probe (Ansible's
// fact gathering, without Python). A fact is a probe: the command the plan lists and its answer is
// kept under, plus how the gathering script answers it with the same result.
import { PACKAGE_STATE_SCRIPT, PACKAGE_STATE_VALIDATOR, packageStateCommand } from './packages.ts';
import { buildCommand, quote } from './quote.ts';
import type { ExecResult, FileInfo } from './hosts/host.ts';
import type { MemoEntry } from './fact-memo.ts';

export interface FactProbe {
  /** The probe as the plan lists it (and as it runs on its own): also the key of its answer. */
  command: string;
  /**
   * How the script answers it: `shell`, a fragment run by the script's own shell (a probe written
   * as `sh -c SCRIPT sh ARGS` runs as `(set -- ARGS; SCRIPT)`, without starting another shell);
   * `unit-active`, `unit-enabled` and `packages`, one query for every unit or package the graph
   * asks about.
   */
  via:
    | {
      kind: 'shell';
      fragment: string;
      /** Slow to answer (it waits on a slow program): answered beside the others. */
      background?: boolean;
      /**
       * A fragment printing what the answer follows from (a stat of the binaries it runs): when it
       * prints what it printed last time, the answer kept then is used and the fragment is not run.
       */
      memo?: string;
    }
    | { kind: 'unit-active'; unit: string }
    | { kind: 'unit-enabled'; unit: string }
    | { kind: 'packages'; names: readonly string[] }
    /** A file read or stat-ed (ctx.exists, ctx.read): gathered from hosts reached over a channel. */
    | { kind: 'file'; path: string }
    /** Only a file's stat (a path a step may write: exists, size, mode), not its bytes. */
    | { kind: 'stat'; path: string };
}

/** A probe written as a command (template values quoted): the script runs it as it is. */
export function commandFact(pieces: TemplateStringsArray, ...values: unknown[]): FactProbe {
  const command = buildCommand(pieces, values).text;
  return { command, via: { kind: 'shell', fragment: command } };
}

/** `sh -c SCRIPT sh ARGS…`: the gathering shell runs SCRIPT in a subshell with ARGS as "$@". */
export function shellFact(script: string, ...args: string[]): FactProbe {
  return {
    command: args.length ? buildCommand(['sh -c ', ' sh ', ''], [script, args]).text : buildCommand(['sh -c ', ''], [script]).text,
    via: { kind: 'shell', fragment: `(set -- ${args.map(quote).join(' ')}\n${script}\n)` },
  };
}

/** A shell fact slow to answer (it waits on a slow program): the gathering answers it beside the others. */
export function slow(fact: FactProbe): FactProbe {
  return fact.via.kind === 'shell' ? { ...fact, via: { ...fact.via, background: true } } : fact;
}

/** A shell fact whose answer is kept across runs while `validator` (a shell fragment) prints the same (core/fact-memo.ts). */
export function memoized(fact: FactProbe, validator: string): FactProbe {
  return fact.via.kind === 'shell' ? { ...fact, via: { ...fact.via, memo: validator } } : fact;
}

/** Whether a command is on PATH. */
export function commandPresent(name: string): FactProbe {
  return shellFact('command -v "$1" >/dev/null 2>&1', name);
}

/** systemd's view of a unit: running (or reloading)? */
export function unitActive(unit: string): FactProbe {
  return { command: buildCommand(['systemctl is-active --quiet ', ''], [unit]).text, via: { kind: 'unit-active', unit } };
}

/** systemd's view of a unit: enabled (or static, indirect, …: is-enabled's exit code)? */
export function unitEnabled(unit: string): FactProbe {
  return { command: buildCommand(['systemctl is-enabled --quiet ', ''], [unit]).text, via: { kind: 'unit-enabled', unit } };
}

/** is-enabled's states that it answers with exit code 0 (systemctl(1)); every other state is 1. */
const ENABLED = new Set(['enabled', 'enabled-runtime', 'static', 'alias', 'indirect', 'generated', 'transient']);

/**
 * `UNIT STATE` for each unit in "$@", from one `systemctl is-enabled` for all of them. That call
 * stops at the first unit it has no file for, so units with no file in any of systemd's unit
 * directories are answered `not-found` by the shell first (unless SYSTEMD_UNIT_PATH moves them);
 * should it still stop early, the unit it stopped at is `failed` (its probe then runs on its own)
 * and the call goes on with the rest.
 */
export const UNIT_ENABLED_SCRIPT = [
  'set -f; found=',
  'for u in "$@"; do',
  '  case $u in *.*) n=$u ;; *) n=$u.service ;; esac',
  '  case $n in *@?*.*) t=${n%%@*}@.${n##*.} ;; *) t=$n ;; esac',
  '  f=${SYSTEMD_UNIT_PATH:+y}',
  '  for d in /etc/systemd/system.control /run/systemd/system.control /run/systemd/transient /run/systemd/generator.early \\',
  '    /etc/systemd/system /etc/systemd/system.attached /run/systemd/system /run/systemd/system.attached /run/systemd/generator \\',
  '    /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system /run/systemd/generator.late; do',
  '    [ -n "$f" ] && break',
  '    if [ -e "$d/$n" ] || [ -L "$d/$n" ] || [ -e "$d/$t" ]; then f=y; fi',
  '  done',
  '  if [ -n "$f" ]; then found="$found $u"; else echo "$u not-found"; fi',
  'done',
  '# shellcheck disable=SC2086 # unit names have no spaces, and globbing is off',
  'set -- $found',
  'while [ $# -gt 0 ]; do',
  '  for s in $(systemctl is-enabled -- "$@" 2>/dev/null); do [ $# -gt 0 ] || break; echo "$1 $s"; shift; done',
  '  [ $# -gt 0 ] || break',
  '  echo "$1 failed"; shift',
  'done',
].join('\n');

/** A file's sha256 (empty output when it cannot be read). A missing file costs no process. */
export function fileDigest(path: string): FactProbe {
  return shellFact('[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }', path);
}

/** The names in a directory, one a line (none when it is missing or unreadable), by the shell's own glob. */
export function dirListing(path: string): FactProbe {
  return shellFact('for f in "$1"/*; do [ -e "$f" ] && printf "%s\\n" "${f##*/}"; done; exit 0', path);
}

/** The package manager and which of these packages are installed (core/packages.ts: ctx.packageState). */
export function packageStates(names: readonly string[]): FactProbe {
  return { command: packageStateCommand(names).text, via: { kind: 'packages', names } };
}

/** A file a task reads (ctx.exists, ctx.read); its command is only the key, never run or listed. */
export function fileFact(path: string): FactProbe {
  return { command: `file ${path}`, via: { kind: 'file', path } };
}

/** A path a step may write: its stat is gathered (hosts reached over a channel), its bytes are not. */
export function statFact(path: string): FactProbe {
  return { command: `stat ${path}`, via: { kind: 'stat', path } };
}

/**
 * For a path $p that test -e does not see: exit 4 when the nearest existing directory above it is
 * one this user may not enter (the path may well exist, e.g. in containerd's root-only
 * /etc/cni/net.d), exit 3 when it is really absent.
 */
export const HIDDEN_OR_MISSING = [
  // The parent by the shell's own expansion, not dirname: one process less per level (a stat of 30
  // paths, most of them not there yet, started 150 of them).
  'case $p in /*) r=/ ;; *) r=. ;; esac; d=$p',
  'while case $d in */*) d=${d%/*} ;; *) d= ;; esac; [ -n "$d" ] && [ ! -e "$d" ]; do :; done',
  'if [ -x "${d:-$r}" ]; then exit 3; else exit 4; fi',
].join('; ');

/** ShellHost.stat's command for $p: one line, a stat line, `missing` or `hidden`; stat runs only for a path test -e sees. */
export const statLineCommand =
  `{ [ -e "$p" ] && stat -L -c '%F|%s|%a' -- "$p" 2>/dev/null; } || { (${HIDDEN_OR_MISSING}); [ $? = 4 ] && echo hidden || echo missing; }`;

/** One line for each path, in the order given, as statLineCommand prints it. */
export function statLinesCommand(paths: readonly string[]): string {
  return `for p in ${paths.map(quote).join(' ')}; do ${statLineCommand}; done`;
}

/** What statLineCommand printed. Behind a directory this user may not enter, a path may exist (as the local host says on EACCES). */
export function parseStatLine(line: string): FileInfo {
  return line === 'hidden' ? { exists: true } : parseStat(line);
}

/** ShellHost.readFile's command: exit 3 when missing, 4 when unreadable or a directory, else base64. */
export function readFileCommand(path: string): string {
  const p = quote(path);
  return `if [ ! -e ${p} ]; then exit 3; elif [ ! -r ${p} ] || [ -d ${p} ]; then exit 4; fi; base64 < ${p}`;
}

/** What a stat line says: `TYPE|SIZE|MODE` (stat -L -c '%F|%s|%a'), or nothing for a missing file. */
export function parseStat(line: string | undefined): FileInfo {
  if (!line || line === 'missing') return { exists: false };
  const [type, size, mode] = line.split('|');
  return { exists: true, isDir: type === 'directory', size: Number(size), mode: (mode ?? '').padStart(4, '0') };
}

/** A file's state as gathered: its stat, and its bytes (null: missing; 'unreadable'; undefined: not read). */
export interface GatheredFile {
  info: FileInfo;
  content?: Uint8Array | null | 'unreadable';
}

/** How many stages of the gathering pipeline run the facts that are not slow, side by side. */
const GATHER_STAGES = 3;

/** Frames each answer; a line that a probe prints cannot start with it by accident. */
const MARK = '@@kubestrap-fact@@';
const ACTIVE = new Set(['active', 'reloading', 'refreshing']);

export interface Gathered {
  /** The answer to each fact gathered, by its command. */
  byCommand: Map<string, ExecResult>;
  /** Answers a unit or package fact not declared but inside what was asked (e.g. a subset of the packages). */
  derive(fact: FactProbe): ExecResult | undefined;
  /** The files gathered, by path. */
  files: Map<string, GatheredFile>;
  /** The stats of paths asked for their stat only. */
  stats: Map<string, FileInfo>;
  /** Memoized facts asked afresh: their validator and answer, to keep for the next time. */
  memos: Map<string, MemoEntry>;
}

export interface Gathering {
  /** The one script that answers every fact (listed in the plan as what ran). */
  script: string;
  /** Shell assignments run before the script: the validators of the answers kept (empty: none). */
  prelude: string;
  /** Turns the script's output into the answers. */
  answers(out: ExecResult): Gathered;
}

/**
 * One POSIX sh script for all the facts. Each answer is framed by marker lines carrying its exit
 * code; units and packages are asked in one query each and split per probe. A fact whose frame is
 * missing (the script was cut short) has no answer, and its probe then runs on its own.
 */
export function gatherScript(facts: readonly FactProbe[], kept: (command: string) => MemoEntry | undefined = () => undefined): Gathering {
  const unique = [...new Map(facts.map((f) => [f.command, f])).values()];
  const shell = unique.filter((f) => f.via.kind === 'shell');
  const background = shell.filter((f) => f.via.kind === 'shell' && f.via.background);
  // A path with a newline cannot be told apart in stat's output: such a file is read on its own.
  const files = [...new Set(unique.flatMap((f) => (f.via.kind === 'file' && !f.via.path.includes('\n') ? [f.via.path] : [])))];
  const units = [...new Set(unique.flatMap((f) => (f.via.kind === 'unit-active' ? [f.via.unit] : [])))];
  const enabledUnits = [...new Set(unique.flatMap((f) => (f.via.kind === 'unit-enabled' ? [f.via.unit] : [])))];
  const packages = [...new Set(unique.flatMap((f) => (f.via.kind === 'packages' ? f.via.names : [])))];
  const statPaths = [
    ...new Set(unique.flatMap((f) => (f.via.kind === 'stat' && !f.via.path.includes('\n') && !files.includes(f.via.path) ? [f.via.path] : []))),
  ];
  // The package query is one fact for all the packages asked about, kept under the command that asks it alone.
  const packagesCommand = packages.length ? packageStateCommand(packages).text : '';
  // The memoized frames: the fact each answers, its validator, and the variable the prelude sets.
  const memoized = [
    ...shell.flatMap((f, i) => (f.via.kind === 'shell' && f.via.memo ? [{ command: f.command, validator: f.via.memo, variable: `kept_${i}` }] : [])),
    ...(packages.length ? [{ command: packagesCommand, validator: PACKAGE_STATE_VALIDATOR, variable: 'kept_packages' }] : []),
  ];
  // The answers kept for them, by command (an empty validator is never trusted).
  const known = new Map(memoized.flatMap((m) => {
    const k = kept(m.command);
    return k && k.validator ? [[m.command, k] as const] : [];
  }));
  // Answer N is printed between `MARK N` and `MARK . EXIT-CODE` lines.
  const frame = (key: string, body: string) => `echo "$k ${key}"; { ${body}\n} </dev/null 2>/dev/null; e $?`;
  const shellFrames = (slowOnes: boolean) =>
    shell.flatMap((f, i) =>
      background.includes(f) === slowOnes && f.via.kind === 'shell'
        ? [frame(String(i), f.via.memo ? memoBody(f.via.fragment, f.via.memo, `kept_${i}`) : f.via.fragment)]
        : []
    );
  const others = shellFrames(false);
  if (units.length) others.push(frame('units', `systemctl is-active ${units.map(quote).join(' ')}`));
  if (enabledUnits.length) others.push(frame('enabled', `(set -- ${enabledUnits.map(quote).join(' ')}\n${UNIT_ENABLED_SCRIPT}\n)`));
  // The package query runs in a subshell of this one: the same script, without another sh.
  if (packages.length) {
    others.push(frame('packages', memoBody(`(set -- ${packages.map(quote).join(' ')}\n${PACKAGE_STATE_SCRIPT}\n)`, PACKAGE_STATE_VALIDATOR, 'kept_packages')));
  }
  if (files.length) {
    // One stat for every file (a line for each that exists), then each file's bytes.
    others.push(frame('stat', `stat -L -c '%F|%s|%a' -- ${files.map(quote).join(' ')}`));
    // In a subshell: its `exit` ends the read, not the script.
    files.forEach((path, i) => others.push(frame(`f${i}`, `(${readFileCommand(path)})`)));
  }
  // A line for each path asked for its stat only, in the order asked.
  if (statPaths.length) others.push(frame('stats', statLinesCommand(statPaths)));
  // The frames run in stages of one pipeline, side by side: the slow facts on the left, the others
  // dealt out over the next stages. Each stage prints its own frames, then passes on the frames of
  // the stages before it (by the shell's read: no other program), so no two frames mix.
  const stages = background.length ? [shellFrames(true)] : [];
  const dealt = Math.min(GATHER_STAGES, others.length);
  for (let i = 0; i < dealt; i++) stages.push(others.filter((_f, j) => j % dealt === i));
  const relay = `while IFS= read -r l || [ -n "$l" ]; do printf '%s\\n' "$l"; done`;
  const script = [
    `k=${MARK}`,
    `e() { printf '\\n%s . %s\\n' "$k" "$1"; }`,
    stages.map((frames, i) => `{\n${[...frames, ...(i > 0 ? [relay] : [])].join('\n')}\n}`).join(' | '),
  ].join('\n');
  // The kept validators, set before the script: the script's text stays the same whatever is kept.
  const prelude = memoized.flatMap((m) => {
    const k = known.get(m.command);
    return k ? [`${m.variable}=${quote(k.validator)}`] : [];
  }).join('\n');

  const answers = (out: ExecResult): Gathered => {
    const framed = parseFrames(out.stdout);
    const byCommand = new Map<string, ExecResult>();
    const memos = new Map<string, MemoEntry>();
    // A memoized frame: the validator's lines, a MEMO line saying whether the kept answer held, then the fresh answer.
    const unmemo = (a: ExecResult | undefined, command: string): ExecResult | undefined => {
      const at = a ? a.stdout.indexOf(`${MEMO} `) : -1;
      const eol = a && at >= 0 ? a.stdout.indexOf('\n', at) : -1;
      if (!a || eol < 0) return undefined;
      const validator = a.stdout.slice(0, at).replace(/\n$/, '');
      if (a.stdout.slice(at + MEMO.length + 1, eol) === 'kept') {
        const held = known.get(command);
        return held && held.validator === validator ? held.answer : undefined;
      }
      const answer = { ...a, stdout: a.stdout.slice(eol + 1) };
      if (validator) memos.set(command, { validator, answer });
      return answer;
    };
    shell.forEach((f, i) => {
      const a = f.via.kind === 'shell' && f.via.memo ? unmemo(framed.get(String(i)), f.command) : framed.get(String(i));
      if (a) byCommand.set(f.command, a);
    });
    // One state per unit, in the order asked; none at all when systemd is not running.
    const unitAnswer = framed.get('units');
    const states = new Map(unitAnswer ? units.map((u, i) => [u, unitAnswer.stdout.split('\n')[i]?.trim() ?? '']) : []);
    // `UNIT STATE` lines; a unit whose call failed has no answer.
    const enabled = new Map(
      (framed.get('enabled')?.stdout ?? '').split('\n').map((l) => l.split(' ')).filter((w) => w.length === 2 && w[1] !== 'failed').map(([u, st]) => [u!, st!]),
    );
    const pkgAnswer = packages.length ? unmemo(framed.get('packages'), packagesCommand) : undefined;
    const lines = pkgAnswer ? pkgAnswer.stdout.split('\n').filter((l) => l.trim()) : [];
    const derive = (f: FactProbe): ExecResult | undefined => {
      if (f.via.kind === 'unit-active') {
        const state = states.get(f.via.unit);
        return state === undefined ? undefined : { stdout: '', stderr: '', exitCode: ACTIVE.has(state) ? 0 : 3 };
      }
      if (f.via.kind === 'unit-enabled') {
        const state = enabled.get(f.via.unit);
        return state === undefined ? undefined : { stdout: '', stderr: '', exitCode: ENABLED.has(state) ? 0 : 1 };
      }
      if (f.via.kind === 'packages') {
        if (!pkgAnswer || !f.via.names.every((n) => packages.includes(n))) return undefined;
        // `manager M`, then `package NAME VERSION` for each installed one: a subset keeps its own lines.
        const wanted = new Set(f.via.names);
        const mine = lines.filter((l) => l.startsWith('manager ') || wanted.has(l.split(' ')[1]!));
        return { stdout: mine.map((l) => l + '\n').join(''), stderr: '', exitCode: pkgAnswer.exitCode };
      }
      return undefined;
    };
    for (const f of unique) {
      const d = derive(f);
      if (d) byCommand.set(f.command, d);
    }
    const gatheredFiles = new Map<string, GatheredFile>();
    const statAnswer = framed.get('stat');
    if (statAnswer) {
      // stat prints the existing files' lines in the order asked, and nothing for a missing one.
      const lines = statAnswer.stdout.split('\n').filter((l) => l);
      const read = files.map((_p, i) => framed.get(`f${i}`));
      // Only reads that said missing (3), unreadable (4) or gave the bytes (0) tell which lines are whose.
      const told = read.every((r) => r !== undefined && [0, 3, 4].includes(r.exitCode ?? -1));
      let at = 0;
      if (told) {
        files.forEach((path, i) => {
          const r = read[i];
          const missing = r?.exitCode === 3;
          const info = missing ? { exists: false } : parseStat(lines[at++]);
          let content: GatheredFile['content'];
          if (r?.exitCode === 3) content = null;
          else if (r?.exitCode === 4) content = 'unreadable';
          else if (r?.exitCode === 0) content = Buffer.from(r.stdout.replace(/\s+/g, ''), 'base64');
          gatheredFiles.set(path, { info, ...(content !== undefined ? { content } : {}) });
        });
      }
      // A file that appeared or vanished between the stat and its read leaves the lines out of step: trust none.
      if (!told || at !== lines.length) gatheredFiles.clear();
    }
    const stats = new Map<string, FileInfo>();
    const statsAnswer = framed.get('stats');
    const statLines = statsAnswer ? statsAnswer.stdout.split('\n').filter((l) => l) : [];
    if (statLines.length === statPaths.length) statPaths.forEach((path, i) => stats.set(path, parseStatLine(statLines[i]!)));
    return { byCommand, derive, files: gatheredFiles, stats, memos };
  };
  return { script, prelude, answers };
}

/** Opens the line that ends a memoized fact's validator: `MEMO kept` or `MEMO asked`. */
const MEMO = '@@kubestrap-memo@@';

/**
 * A memoized fact's frame: its validator, then `MEMO kept` when the validator printed something and
 * exactly what the variable `kept` holds (the prelude sets it), else `MEMO asked` and the fragment's answer.
 */
function memoBody(fragment: string, validator: string, kept: string): string {
  return [
    `v=$( ${validator}`,
    `); [ -z "$v" ] || printf '%s\\n' "$v"`,
    `if [ -n "$v" ] && [ "$v" = "\${${kept}-}" ]; then echo "${MEMO} kept"; else echo "${MEMO} asked"`,
    fragment,
    'fi',
  ].join('\n');
}
function parseFrames(stdout: string): Map<string, ExecResult> {
  const out = new Map<string, ExecResult>();
  let at = 0;
  for (;;) {
    const open = stdout.indexOf(`${MARK} `, at);
    if (open < 0) break;
    const eol = stdout.indexOf('\n', open);
    if (eol < 0) break;
    const key = stdout.slice(open + MARK.length + 1, eol);
    const close = stdout.indexOf(`\n${MARK} . `, eol);
    if (close < 0) break;
    const end = stdout.indexOf('\n', close + 1);
    const code = Number(stdout.slice(close + MARK.length + 4, end < 0 ? undefined : end));
    if (key !== '.' && Number.isInteger(code)) out.set(key, { stdout: stdout.slice(eol + 1, close), stderr: '', exitCode: code });
    at = end < 0 ? stdout.length : end + 1;
  }
  return out;
}

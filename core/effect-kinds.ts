// Everything kubestrap knows about each kind of effect, in one table the compiler checks is whole:
// a new kind is one entry here (and its type in effects.ts). Plans, runs, summaries, renderers and
// the audit all ask this table; none of them switches over effect kinds itself.
import { backupCommand, commandFor, type EffectCommand, packagesCommand, removeCommand, serviceCommand, writeCommand } from './effect-commands.ts';
import { describeTransaction } from './packages.ts';
import type { Effect, ExecEffect } from './effects.ts';
import { declaredBase, probeText } from './effects.ts';
import { hasPlaceholder, isPlaceholder, splitAtPlaceholders } from './placeholder.ts';
import type { PlanSummary } from './plan.ts';
import { quote } from './quote.ts';

/** What `plan --format sh` prints for an effect instead of its commands (escaped by the renderer). */
export type ShLines =
  | { comment: string }
  | { withheld: string; comment?: string }
  | { lines: string[] };

export interface EffectKind<E extends Effect> {
  /** Changes anything (reads, declarations, unchanged writes and cached downloads do not). */
  mutating(e: E): boolean;
  /** Listed for people (text plan, live output); reads and probes are recorded but not shown there. */
  shown: boolean;
  /** The shell commands that perform it, in a run and in `plan --format sh`. */
  commands(e: E, content?: Uint8Array): EffectCommand[];
  /** One line in words a reviewer reads; `on` is ' on HOST' or ''. */
  describe(e: E, on: string): string;
  /** `plan --format sh` for an effect that has no commands to print, or whose commands cannot run there. */
  sh?(e: E): ShLines | undefined;
  /** A run's effect is the planned one (a run may do less than the plan, never other). */
  same(planned: E, actual: E): boolean;
  /** Adds the effect to the plan's counts (commands and root commands are counted for every kind). */
  count?(e: E, s: PlanSummary): void;
}

type Kinds = { [K in Effect['kind']]: EffectKind<Extract<Effect, { kind: K }>> };

const none = (): EffectCommand[] => [];
const declaredPaths = (e: ExecEffect) => (e.declares ?? []).map((d) => `${d.action} ${d.path}`).join('\n');

export const EFFECT_KINDS: Kinds = {
  exec: {
    mutating: () => true,
    shown: true,
    // Backups of what an opaque command declared it overwrites come first; the command is last.
    commands: (e) => [
      ...(e.declares ?? []).filter((d) => d.backup).map((d) => ({ command: backupCommand(declaredBase(d.path), d.backup!), sudo: e.sudo })),
      commandFor(e),
    ],
    describe: (e, on) => `run${e.sudo ? ' as root' : ''}${on}: ${e.command}${e.stdinVar ? ` (fed $${e.stdinVar}, a secret, on stdin)` : ''}`,
    sh: (e) => {
      if (hasPlaceholder(e.command)) return { comment: e.command, withheld: 'this command uses the output of an earlier command' };
      if (e.command.includes('<secret:')) return { comment: e.command, withheld: 'this command uses a secret' };
      return undefined;
    },
    same: (p, a) => p.sudo === a.sudo && wildcard(p.command, a.command) && declaredPaths(p) === declaredPaths(a) && p.stdinVar === a.stdinVar,
    // What an opaque command declared counts like the writes and removes it stands for.
    count: (e, s) => {
      for (const d of e.declares ?? []) {
        if (d.action === 'write') {
          if (d.exists) s.filesOverwritten++;
          else s.filesWritten++;
        } else if (d.exists) s.filesRemoved++;
      }
    },
  },
  probe: {
    mutating: () => false,
    shown: false,
    commands: none,
    describe: (e, on) => `check${on}: ${probeText(e)}`,
    sh: (e) => ({ comment: `${e.notRun ? 'not run while planning (from the recipe)' : 'checked'}: ${probeText(e)}` }),
    same: (p, a) => p.command === a.command,
  },
  read: {
    mutating: () => false,
    shown: false,
    commands: none,
    describe: (e, on) => `read ${e.path}${on}`,
    sh: (e) => ({ comment: `read: ${e.path}` }),
    same: (p, a) => p.path === a.path,
  },
  write: {
    mutating: (e) => !e.unchanged,
    shown: true,
    commands: (
      e,
      content,
    ) => (e.unchanged ? [] : [{
      // Size and sha256 go along: the script renames only a complete, verified file. A file put from
      // a download not made yet has no size in the plan; its sha256 is still checked.
      command: writeCommand(e.path, e.mode, e.owner, e.backup, e.source && !e.bytes ? '' : e.bytes, e.sha256),
      sudo: e.sudo,
      ...(content ? { stdin: content } : {}),
    }]),
    describe: (e, on) => {
      if (e.unchanged) return `keep ${e.path}${on} (already as planned)`;
      const size = e.source && !e.bytes ? `from ${e.source.split('/').pop()} once downloaded` : formatBytes(e.bytes);
      return `${e.exists ? 'overwrite' : 'create'} ${e.path}${on} (mode ${e.mode}${e.owner ? `, owner ${e.owner}` : ''}, ${size}${e.sudo ? ', as root' : ''})`;
    },
    sh: (e) => {
      if (e.unchanged) return { comment: describeEffect(e) };
      if (e.secret) return { withheld: `the content of ${e.path} is a secret` };
      if (e.content === undefined && !e.source) return { withheld: `the content of ${e.path} is binary or over 64 KiB` };
      if (hasPlaceholder(e.content)) return { comment: describeEffect(e), withheld: `the content of ${e.path} uses the output of an earlier command` };
      if (e.source && isPlaceholder(e.sha256)) return { comment: describeEffect(e), withheld: `the checksum of ${e.path} was not known while planning` };
      return undefined;
    },
    same: (p, a) => {
      if (p.mode !== a.mode || p.owner !== a.owner || p.sudo !== a.sudo || !wildcard(p.path, a.path)) return false;
      if (p.sha256 === a.sha256) return true;
      // A file put from a download not yet made when planning: its checksum was a placeholder.
      if (p.source !== undefined && p.source === a.source && isPlaceholder(p.sha256)) return true;
      return p.content !== undefined && a.content !== undefined && hasPlaceholder(p.content) && wildcard(p.content, a.content);
    },
    count: (e, s) => {
      if (e.unchanged) return;
      if (e.exists) s.filesOverwritten++;
      else s.filesWritten++;
    },
  },
  remove: {
    mutating: (e) => e.exists,
    shown: true,
    commands: (e) => (e.exists ? [{ command: removeCommand(e.path), sudo: e.sudo }] : []),
    describe: (
      e,
      on,
    ) => (e.exists ? `erase ${e.path}${on} (${formatBytes(e.bytes)}${e.sudo ? ', as root' : ''})` : `erase ${e.path}${on} (absent: nothing to do)`),
    sh: (e) => (e.exists ? undefined : { comment: describeEffect(e) }),
    same: (p, a) => p.sudo === a.sudo && wildcard(p.path, a.path),
    count: (e, s) => {
      if (e.exists) s.filesRemoved++;
    },
  },
  service: {
    mutating: () => true,
    shown: true,
    commands: (e) => [{ command: serviceCommand(e.name, e.action), sudo: e.sudo }],
    describe: (e, on) => (e.action === 'daemon-reload' ? `reload systemd units${on}` : `${e.action} service ${e.name}${on}`),
    same: (p, a) => p.name === a.name && p.action === a.action && p.sudo === a.sudo,
    count: (_e, s) => {
      s.services++;
    },
  },
  package: {
    mutating: () => true,
    shown: true,
    commands: (e) => [{ command: packagesCommand(e), sudo: e.sudo }],
    describe: (e, on) => {
      const what = `${e.action} ${e.names.length > 1 ? 'packages' : 'package'} ${e.names.join(' ')}${on} (${e.manager})`;
      return e.transaction ? `${what}: ${describeTransaction(e.transaction)}` : `${what}: not simulated yet (the run simulates it first)`;
    },
    same: (p, a) => {
      if (p.action !== a.action || p.names.join(' ') !== a.names.join(' ') || p.allowRemovals !== a.allowRemovals) return false;
      // The run's own simulation may not take away anything the audited plan did not list.
      if (!p.transaction || !a.transaction) return true;
      const listed = new Set([...p.transaction.remove, ...p.transaction.downgrade].map((c) => c.name));
      return [...a.transaction.remove, ...a.transaction.downgrade].every((c) => listed.has(c.name));
    },
    count: (e, s) => {
      const t = e.transaction;
      s.packages += t ? t.install.length + t.upgrade.length + t.downgrade.length + t.remove.length : e.names.length;
      s.packagesRemoved += t ? t.remove.length + t.downgrade.length : 0;
    },
  },
  listen: {
    mutating: () => false,
    shown: true,
    commands: none,
    describe: (e, on) => `${e.component} listens on ${e.address}:${e.port}/${e.protocol}${on}`,
    sh: (e) => ({ comment: `opens ${e.address}:${e.port}/${e.protocol} (${e.component})` }),
    same: (p, a) => p.port === a.port && p.protocol === a.protocol && p.address === a.address,
    count: (_e, s) => {
      s.ports++;
    },
  },
  download: {
    mutating: (e) => !e.cached,
    shown: true,
    // kubestrap fetches it itself (no shell command in a run); the script does the same with curl.
    commands: none,
    describe: (e) => `${e.cached ? 'use cached' : 'download'} ${e.url}${e.sha256 ? ` (sha256 ${e.sha256.slice(0, 12)}…)` : ' (no checksum)'}`,
    sh: (e) => {
      if (e.cached) return { comment: `cached: ${e.url} → ${e.path}` };
      return {
        lines: [
          `mkdir -p ${quote(e.path.replace(/\/[^/]*$/, ''))}`,
          `curl -fsSL -o ${quote(e.path)} ${quote(e.url)}`,
          ...(e.sha256 ? [`echo ${quote(`${e.sha256}  ${e.path}`)} | sha256sum -c --quiet -`] : []),
        ],
      };
    },
    same: (p, a) => p.url === a.url && (p.sha256 === a.sha256 || isPlaceholder(p.sha256)),
    count: (e, s) => {
      if (!e.cached) s.downloads++;
    },
  },
};

function kindOf<E extends Effect>(e: E): EffectKind<E> {
  return EFFECT_KINDS[e.kind] as unknown as EffectKind<E>;
}

export function isMutating(e: Effect): boolean {
  return kindOf(e).mutating(e);
}

/** Needs root: a change made with sudo. An effect that changes nothing needs no one. */
export function needsRoot(e: Effect): boolean {
  return 'sudo' in e && e.sudo === true && isMutating(e);
}

export function isShown(e: Effect): boolean {
  return kindOf(e).shown;
}

/** Commands for one effect; read-only and declarative effects have none. */
export function commandsFor(e: Effect, content?: Uint8Array): EffectCommand[] {
  return kindOf(e).commands(e, content);
}

export function describeEffect(e: Effect): string {
  return kindOf(e).describe(e, e.host === 'local' ? '' : ` on ${e.host}`);
}

export function shLinesFor(e: Effect): ShLines | undefined {
  return kindOf(e).sh?.(e);
}

export function sameEffect(planned: Effect, actual: Effect): boolean {
  // A host planned before it existed may be named after an earlier step's output.
  if (planned.kind !== actual.kind || !wildcard(planned.host, actual.host)) return false;
  return kindOf(planned).same(planned, actual as typeof planned);
}

export function countEffect(e: Effect, s: PlanSummary): void {
  const cmds = commandsFor(e).length;
  s.commands += cmds;
  if (needsRoot(e)) s.sudoCommands += cmds;
  kindOf(e).count?.(e, s);
}

/** Equal, where a placeholder in the planned text stands for any text. */
export function wildcard(planned: string, actual: string): boolean {
  if (!hasPlaceholder(planned)) return planned === actual;
  const pattern = splitAtPlaceholders(planned).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*?');
  return new RegExp(`^${pattern}$`).test(actual);
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return 'size unknown';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

// Where effects land. Tasks never see which kind of host they got.
import { quote as shq } from '../quote.ts';
import { HIDDEN_OR_MISSING, parseStatLine, statLineCommand } from '../facts.ts';

export interface ExecOptions {
  /** Bytes or text fed to the command's standard input. */
  stdin?: string | Uint8Array;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called for each complete output line, as it arrives. */
  onLine?(stream: 'stdout' | 'stderr', line: string): void;
  /**
   * A read-only command run before anything changed the host (its gathering, a probe) that may be
   * started before the engine loads, the next time the same command line runs (core/hosts/local.ts: EarlyStart).
   */
  startEarly?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the command was killed by a signal. */
  exitCode: number | null;
  signal?: string | null;
}

export interface HostFacts {
  uid: number;
  /** The user's primary group (absent where a host cannot tell before it exists). */
  gid?: number;
  user: string;
  home: string;
}

/** A host as the plan document records it. */
export interface HostInfo {
  name: string;
  kind: string;
  user: string;
  uid: number;
  shellPrefix: string[];
  /** A host the plan's own steps create: planned as a fresh machine, opened only after them. */
  createdBy?: string[];
}

export interface FileInfo {
  exists: boolean;
  isDir?: boolean;
  size?: number;
  /** Permission bits as four octal digits, e.g. '0644'. */
  mode?: string;
}

export type HostKind = 'local' | 'ssh' | 'docker';

export interface Host {
  /** Stable name used in plans: `local`, `ssh:user@address:port`, `docker:container`. */
  readonly name: string;
  readonly kind: HostKind;
  /** Set when connecting recorded a new host key (trust on first use): shown to the user once. */
  readonly firstUse?: string;
  /** A machine an earlier step creates: planned as a fresh one, nothing can be read from it yet. */
  readonly future?: boolean;
  /** For a future host: the steps that create it. */
  readonly createdBy?: readonly string[];
  /** Runs one command string under /bin/sh. A non-zero exit is a result, not an exception. */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** The file's bytes; null when it does not exist. Throws UnreadableError without permission. */
  readFile(path: string): Promise<Uint8Array | null>;
  stat(path: string): Promise<FileInfo>;
  /** Total bytes under a path (du -sb), as far as this user can see. */
  diskUsage(path: string): Promise<number | undefined>;
  facts(): Promise<HostFacts>;
  /**
   * Hosts that read their user facts with a command take them from the fact gathering instead
   * (the answer to USER_FACTS), saving a round trip.
   */
  seedFacts?(answer: ExecResult): void;
  /** How a shell script reaches this host, for `plan --format sh`: empty for local. */
  shellPrefix(): string[];
  close(): Promise<void>;
}

export class UnreadableError extends Error {
  constructor(readonly path: string, readonly host: string) {
    super(`${path} on ${host} is not readable without root`);
    this.name = 'UnreadableError';
  }
}

/** What a host reached over a channel answers about its user: uid, name, home. */
export const USER_FACTS = 'id -u; id -un; id -g; printf %s "$HOME"';

function parseUserFacts(name: string, r: ExecResult): HostFacts {
  if (r.exitCode !== 0) throw new Error(`cannot read user facts on ${name}: ${r.stderr.trim()}`);
  const [uid, user, gid, ...home] = r.stdout.split('\n');
  return { uid: Number(uid), user: user ?? '', gid: Number(gid), home: home.join('\n') };
}

/** Reads and stats through plain commands: for hosts reached over a channel (ssh, docker exec). */
export abstract class ShellHost implements Host {
  abstract readonly name: string;
  abstract readonly kind: HostKind;
  abstract exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  abstract shellPrefix(): string[];
  abstract close(): Promise<void>;
  private cachedFacts?: Promise<HostFacts>;

  async readFile(path: string): Promise<Uint8Array | null> {
    const r = await this.exec(`p=${shq(path)}; if [ ! -e "$p" ]; then ${HIDDEN_OR_MISSING}; elif [ ! -r "$p" ] || [ -d "$p" ]; then exit 4; fi; base64 < "$p"`);
    if (r.exitCode === 3) return null;
    if (r.exitCode === 4) throw new UnreadableError(path, this.name);
    if (r.exitCode !== 0) throw new Error(`reading ${path} on ${this.name} failed: ${r.stderr.trim()}`);
    return Buffer.from(r.stdout.replace(/\s+/g, ''), 'base64');
  }

  async stat(path: string): Promise<FileInfo> {
    const r = await this.exec(`p=${shq(path)}; ${statLineCommand}`);
    return parseStatLine(r.stdout.trim());
  }

  async diskUsage(path: string): Promise<number | undefined> {
    const r = await this.exec(`du -sb -- ${shq(path)} 2>/dev/null`);
    const n = Number(r.stdout.trim().split(/\s+/)[0]);
    return Number.isFinite(n) && r.stdout.trim() !== '' ? n : undefined;
  }

  facts(): Promise<HostFacts> {
    this.cachedFacts ??= this.exec(USER_FACTS).then((r) => parseUserFacts(this.name, r));
    return this.cachedFacts;
  }

  seedFacts(answer: ExecResult): void {
    if (!this.cachedFacts && answer.exitCode === 0) this.cachedFacts = Promise.resolve(parseUserFacts(this.name, answer));
  }
}

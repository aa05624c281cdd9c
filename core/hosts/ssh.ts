// A host reached over SSH: one ssh2 connection per host, each command its own channel.
// ssh2 is loaded on first connect so commands that never touch an ssh host do not pay for it.
import { connect as tcpConnect, type Socket } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { UserError } from '../errors.ts';
import { quote } from '../quote.ts';
import { OutputCollector } from './output.ts';
import type { ExecOptions, ExecResult } from './host.ts';
import { ShellHost } from './host.ts';
import { algorithmsFor, fingerprint, hostEntryName, keysFor, keyType, remember, type Verdict, verify } from './known-hosts.ts';
import { stopper } from './stop.ts';

export interface SshConnectOptions {
  address: string;
  port: number;
  /** Defaults to the local user name. */
  user?: string;
  /** Private key file; without it ssh-agent, then ~/.ssh/id_ed25519 and id_rsa. */
  key?: string;
  /** The ssh-agent socket to use without key (the engine passes its SSH_AUTH_SOCK). */
  agent?: string;
  /** kubestrap's own known_hosts: read, and appended to on first use. */
  knownHosts: string;
  /** Other known_hosts files, only read. Default: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. */
  readKnownHosts?: string[];
  /** Connect and handshake limit. */
  timeoutMs?: number;
  /** Channels open at once; more commands wait. OpenSSH allows 10 per connection by default. */
  maxChannels?: number;
  /** Told when a host key was accepted on first use and added to knownHosts. */
  onFirstUse?(message: string): void;
}

export class SshHost extends ShellHost {
  readonly kind = 'ssh' as const;
  readonly name: string;
  /** Set when this connection accepted an unknown host key and recorded it ("Permanently added …"). */
  readonly firstUse?: string;
  /** Commands holding a slot (opening or open channels). */
  private active = 0;
  /** Channels the server opened and that have not closed yet. */
  private open = 0;
  /** The most channels the server has granted at once. */
  private peakOpen = 0;
  /** Commands refused a session, waiting for another channel to end: told true, or false when none can. */
  private stalled: ((ended: boolean) => void)[] = [];
  private limit: number;
  private readonly waiting: (() => void)[] = [];
  private lost?: Error;

  private constructor(
    private readonly client: Client,
    private readonly opts: SshConnectOptions & { user: string },
    readonly hostKey: { type: string; fingerprint: string },
    firstUse: string | undefined,
  ) {
    super();
    this.name = `ssh:${opts.user}@${opts.address}:${opts.port}`;
    this.limit = Math.max(1, opts.maxChannels ?? 10);
    if (firstUse) this.firstUse = firstUse;
    client.on('close', () => {
      this.lost ??= new Error(`the SSH connection to ${this.name} was closed`);
      for (const wake of this.waiting.splice(0)) wake();
      for (const wake of this.stalled.splice(0)) wake(false);
    });
  }

  static async connect(opts: SshConnectOptions): Promise<SshHost> {
    // Recipes pass '' for "not set" (a parameter's empty default).
    const user = opts.user || os.userInfo().username;
    const where = `${user}@${opts.address}:${opts.port}`;
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const auth = loadAuth(opts.key || undefined, opts.agent, user, where);
    const { Client } = await import('ssh2');
    const known = [opts.knownHosts, ...(opts.readKnownHosts ?? [join(os.homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'])];
    const sock = await openSocket(opts.address, opts.port, timeoutMs, where);

    // Prefer the key types already on record, as OpenSSH does, so a host with several keys
    // presents the one we can check.
    const knownTypes = [...new Set(keysFor(known, opts.address, opts.port).filter((k) => !k.marker).map((k) => k.type))];
    const preferred = algorithmsFor(knownTypes);
    let presented: Buffer | undefined;
    let verdict: Verdict | undefined;
    const client = new Client();
    const config: ConnectConfig = {
      sock,
      username: user,
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      authHandler: auth.methods as ConnectConfig['authHandler'],
      ...(preferred.length ? { algorithms: { serverHostKey: { remove: preferred, prepend: preferred } as never } } : {}),
      hostVerifier: (key: Buffer) => {
        presented = key;
        verdict = verify(known, opts.address, opts.port, key);
        return verdict.status === 'known' || verdict.status === 'unknown';
      },
    };
    // ssh2 may report more than one error for one failure (a timeout, then the lost socket): the first
    // decides; later ones, and errors after the handshake (keepalive timeout, reset), end the
    // connection, which commands see.
    let failed: (e: unknown) => void = () => {};
    client.on('error', (e: Error & { level?: string }) => {
      // An agent that cannot be reached is skipped: ssh2 goes on with the next way to log in.
      if (e.level !== 'agent') failed(e);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        failed = reject;
        client.once('ready', resolve);
        client.once('close', () => reject(new Error('the server closed the connection')));
        client.connect(config);
      });
    } catch (e) {
      sock.destroy();
      client.end();
      throw connectError(e, { where, opts, user, auth: auth.description, presented, verdict, timeoutMs });
    } finally {
      failed = () => {};
    }

    let firstUse: string | undefined;
    if (verdict?.status === 'unknown' && presented) {
      remember(opts.knownHosts, opts.address, opts.port, presented);
      firstUse = `Permanently added '${hostEntryName(opts.address, opts.port)}' (${keyType(presented)} ${fingerprint(presented)}) to ${opts.knownHosts}`;
      opts.onFirstUse?.(firstUse);
    }
    const hostKey = { type: presented ? keyType(presented) : 'unknown', fingerprint: presented ? fingerprint(presented) : '' };
    const { key: _given, ...rest } = opts;
    return new SshHost(client, { ...rest, user, ...(auth.keyFile ? { key: auth.keyFile } : {}) }, hostKey, firstUse);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    opts.signal?.throwIfAborted();
    if (this.lost) throw this.lost;
    await this.acquire(opts.signal);
    try {
      for (let lateRetries = 0;;) {
        try {
          return await this.execChannel(command, opts);
        } catch (e) {
          if (!isSessionLimit(e)) throw e;
          // The server allows fewer sessions than we assumed (sshd's MaxSessions): from now on use
          // no more channels than it has granted at once, and retry when one of ours ends. (sshd
          // frees a session a little after its channel closes, so a refusal can also come at the
          // limit: the peak it granted is the proof of what it allows.)
          if (await this.channelEnded()) {
            this.limit = Math.max(1, Math.min(this.limit, this.peakOpen));
            this.release();
            await this.acquire(opts.signal);
            continue;
          }
          // No other command can free a session. A server that has granted sessions before is
          // still freeing the one that just closed: try again shortly. One that never granted
          // any, or keeps refusing, has refused for good.
          if (this.peakOpen === 0 || lateRetries >= LATE_RETRY_MS.length) {
            throw new Error(`${this.name} refused to open a session for the command (${(e as Error).message}); sshd's MaxSessions may be 0`, { cause: e });
          }
          await delay(LATE_RETRY_MS[lateRetries++]!, undefined, { signal: opts.signal });
          if (this.lost) throw this.lost;
        }
      }
    } finally {
      this.release();
    }
  }

  /** The OpenSSH command that reaches the same host, for `plan --format sh`. */
  shellPrefix(): string[] {
    const o = this.opts;
    // ssh_config syntax: whitespace separates files, double quotes keep one whole, % starts a token.
    const knownFiles = [o.knownHosts, ...(o.readKnownHosts ?? ['~/.ssh/known_hosts'])]
      .map((f) => f.replace(/%/g, '%%')).map((f) => (/\s/.test(f) ? `"${f}"` : f));
    return [
      'ssh',
      '-p',
      String(o.port),
      ...(o.key ? ['-i', o.key, '-o', 'IdentitiesOnly=yes'] : []),
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${knownFiles.join(' ')}`,
      `${o.user}@${o.address}`,
      '--',
    ];
  }

  async close(): Promise<void> {
    if (this.lost) return;
    this.lost = new Error(`the SSH connection to ${this.name} was closed by kubestrap`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2000);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }

  private execChannel(command: string, opts: ExecOptions): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, stream) => {
        if (err) {
          reject(err);
          return;
        }
        this.open++;
        this.peakOpen = Math.max(this.peakOpen, this.open);
        collect(stream, opts, this.name, command).finally(() => {
          this.open--;
          for (const wake of this.stalled.splice(0)) wake(true);
        }).then(resolve, reject);
      });
    });
  }

  private async acquire(signal?: AbortSignal): Promise<void> {
    while (this.active >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(wake);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(wake);
      });
      if (this.lost) throw this.lost;
    }
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
    this.unstall();
  }

  private channelEnded(): Promise<boolean> {
    const ended = new Promise<boolean>((resolve) => this.stalled.push(resolve));
    this.unstall();
    return ended;
  }

  /** When every command still holding a slot is itself stalled, no channel will end to free a session. */
  private unstall(): void {
    if (this.stalled.length && this.stalled.length >= this.active) { for (const wake of this.stalled.splice(0)) wake(false); }
  }
}

/** Reads a channel to its end: output, lines as they come, exit status; stdin, abort and timeout. */
function collect(stream: ClientChannel, opts: ExecOptions, host: string, command: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const output = new OutputCollector(opts.onLine);
    stream.on('data', (b: Buffer) => output.add('stdout', b));
    stream.stderr.on('data', (b: Buffer) => output.add('stderr', b));

    let exit: { code: number | null; signal: string | null } | undefined;
    stream.on('exit', (code: number | null, signal?: string) => {
      exit = { code: code ?? null, signal: signal ?? null };
    });

    // OpenSSH delivers the signal to the command's whole process group; after KILL the channel is closed.
    const stopping = stopper((sig) => {
      sendSignal(stream, sig);
      if (sig === 'KILL') stream.close();
    });
    const stop = (why: string) => stopping.stop(why);
    const onAbort = () => stop('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = opts.timeoutMs ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined;

    stream.on('close', () => {
      clearTimeout(timer);
      stopping.done();
      opts.signal?.removeEventListener('abort', onAbort);
      const out = output.end();
      if (exit) {
        resolve({ ...out, exitCode: exit.code, signal: exit.signal });
        return;
      }
      if (stopping.why) {
        resolve({ ...out, exitCode: null, signal: 'SIGKILL' });
        return;
      }
      reject(new Error(`the SSH connection to ${host} ended while running: ${command}`));
    });
    stream.on('error', () => {/* surfaced by 'close' without an exit status */});

    // Always end stdin, so a command that reads it sees end of file instead of waiting forever.
    if (opts.stdin !== undefined) stream.end(typeof opts.stdin === 'string' ? Buffer.from(opts.stdin, 'utf8') : Buffer.from(opts.stdin));
    else stream.end();
  });
}

/**
 * ssh2's Channel.signal() does nothing once stdin was ended, but the SSH "signal" request stays valid
 * until the channel closes, so send it through the protocol object the channel holds.
 */
function sendSignal(stream: ClientChannel, name: 'TERM' | 'KILL'): void {
  const ch = stream as unknown as { outgoing: { id: number; state: string }; _client: { _protocol: { signal(id: number, signal: string): void } } };
  if (ch.outgoing.state === 'open' || ch.outgoing.state === 'eof') ch._client._protocol.signal(ch.outgoing.id, name);
}

/** Waits between retries of a refusal that no other channel of ours explains (about 3 s in all). */
const LATE_RETRY_MS = [20, 50, 100, 200, 400, 800, 1500];

function isSessionLimit(e: unknown): boolean {
  // OpenSSH refuses a session over MaxSessions with reason 2 ("open failed"); others may say 1
  // (administratively prohibited). Either way a session channel, not the connection, was refused.
  const reason = !!e && typeof e === 'object' ? (e as { reason?: unknown }).reason : undefined;
  return reason === 1 || reason === 2;
}

interface Auth {
  methods: object[];
  description: string;
  /** The given key file, with ~ expanded. */
  keyFile?: string;
}

/** The ways to log in, tried in order: the given key; else the agent, then the default keys. */
function loadAuth(key: string | undefined, agent: string | undefined, user: string, where: string): Auth {
  const home = os.homedir();
  if (key !== undefined) {
    const file = key.startsWith('~/') ? join(home, key.slice(2)) : key;
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new UserError('SSH_KEY_UNREADABLE', `cannot read the SSH key ${file} for ${where}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
        fix: 'check the key: path in the recipe',
      });
    }
    if (encrypted(bytes)) {
      throw new UserError('SSH_KEY_ENCRYPTED', `the SSH key ${file} is protected by a passphrase`, {
        fix: `load it into ssh-agent (ssh-add ${file}) and leave key: out`,
      });
    }
    return { methods: [{ type: 'publickey', username: user, key: bytes }], description: `the key ${file}`, keyFile: file };
  }
  const methods: object[] = [];
  const tried: string[] = [];
  if (agent) {
    methods.push({ type: 'agent', username: user, agent });
    tried.push(`ssh-agent (${agent})`);
  }
  for (const name of ['id_ed25519', 'id_rsa']) {
    const file = join(home, '.ssh', name);
    if (!existsSync(file)) continue;
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      continue;
    }
    if (encrypted(bytes)) continue;
    methods.push({ type: 'publickey', username: user, key: bytes });
    tried.push(file);
  }
  if (!methods.length) {
    throw new UserError('SSH_NO_KEY', `no SSH key to log in to ${where}: no key: given, no ssh-agent, no ~/.ssh/id_ed25519 or id_rsa`, {
      fix: 'set key: on the host in the recipe, or create a key with ssh-keygen -t ed25519',
    });
  }
  return { methods, description: tried.join(', ') };
}

/** True for an OpenSSH or PEM private key that needs a passphrase. */
function encrypted(bytes: Buffer): boolean {
  const text = bytes.toString('latin1');
  if (text.includes('ENCRYPTED')) return true;
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END/.exec(text);
  if (!m) return false;
  // openssh-key-v1\0, then the cipher name as an SSH string: "none" when unencrypted.
  const body = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0'.length;
  if (body.length < magic + 4) return false;
  const n = body.readUInt32BE(magic);
  return body.toString('latin1', magic + 4, magic + 4 + n) !== 'none';
}

function openSocket(address: string, port: number, timeoutMs: number, where: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host: address, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new UserError('SSH_UNREACHABLE', `no answer from ${address}:${port} within ${duration(timeoutMs)} (for ${where})`, {
          fix: 'check the address and that the machine is up and not firewalled',
        }),
      );
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      // Without it Nagle and delayed ACKs add ~40 ms to every command.
      sock.setNoDelay(true);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(unreachable(e, address, port, where));
    });
  });
}

function unreachable(e: NodeJS.ErrnoException, address: string, port: number, where: string): UserError {
  const why: Record<string, [string, string]> = {
    ECONNREFUSED: ['connection refused', 'is sshd running there, on this port?'],
    EHOSTUNREACH: ['no route to host', 'check the address and that the machine is up'],
    ENETUNREACH: ['network unreachable', "check the address and this machine's network"],
    ENOTFOUND: ['the name does not resolve', 'check the address'],
    EAI_AGAIN: ['the name does not resolve (DNS is not answering)', 'check the address or use an IP address'],
    ETIMEDOUT: ['timed out', 'check the address and that the machine is up and not firewalled'],
  };
  const [reason, fix] = why[e.code ?? ''] ?? [e.message, 'check the address and port'];
  return new UserError('SSH_UNREACHABLE', `cannot reach ${address}:${port} over SSH (for ${where}): ${reason}`, { fix, cause: e });
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

interface FailureContext {
  where: string;
  user: string;
  opts: SshConnectOptions;
  auth: string;
  presented?: Buffer;
  verdict?: Verdict;
  timeoutMs: number;
}

function connectError(e: unknown, c: FailureContext): UserError {
  if (e instanceof UserError) return e;
  const err = e as Error & { level?: string };
  const { address, port } = c.opts;
  const entryName = hostEntryName(address, port);
  if (c.verdict && c.presented && (c.verdict.status === 'mismatch' || c.verdict.status === 'revoked')) {
    const { entry } = c.verdict;
    const presented = `${keyType(c.presented)} ${fingerprint(c.presented)}`;
    if (c.verdict.status === 'revoked') {
      return new UserError('SSH_HOST_KEY_REVOKED', `the host key of ${entryName} (${presented}) is marked @revoked in ${entry.file}:${entry.line}`, {
        fix: 'refusing to connect; use a host with a new key',
      });
    }
    return new UserError(
      'SSH_HOST_KEY_MISMATCH',
      `the host key of ${entryName} has changed: it presented ${presented}, but ${entry.file}:${entry.line} records another ${entry.type} key — someone may be intercepting the connection, or the machine was reinstalled`,
      { fix: `if the machine was reinstalled, remove the old key with: ssh-keygen -f ${quote(entry.file)} -R ${quote(entryName)}` },
    );
  }
  if (err.level === 'client-authentication') {
    return new UserError('SSH_AUTH_FAILED', `${c.where} did not accept ${c.auth}`, {
      fix: `add the public key to ~${c.user}/.ssh/authorized_keys on that host (ssh-copy-id -p ${port} ${
        quote(`${c.user}@${address}`)
      }), or check user: and key:`,
      cause: e,
    });
  }
  if (err.level === 'client-timeout') {
    return new UserError('SSH_UNREACHABLE', `${address}:${port} accepted the connection but did not finish the SSH handshake within ${duration(c.timeoutMs)}`, {
      fix: 'is it an SSH server on that port? is the machine overloaded?',
      cause: e,
    });
  }
  if (err.level === 'client-socket') {
    return new UserError('SSH_UNREACHABLE', `the connection to ${address}:${port} failed during the SSH handshake: ${err.message}`, {
      fix: 'is it an SSH server on that port? does sshd allow this client (see its log)?',
      cause: e,
    });
  }
  return new UserError('SSH_HANDSHAKE_FAILED', `the SSH handshake with ${address}:${port} failed: ${err.message}`, {
    fix: "is it an SSH server on that port? see the server's log",
    cause: e,
  });
}

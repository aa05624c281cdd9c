// A real OpenSSH server for one test: 127.0.0.1, a free port, its own config, host key and
// authorized_keys in a temp dir, stopped by PID when the test ends (even on failure).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

type Hooks = { after(fn: () => void | Promise<void>): void };

export interface TestUser {
  name: string;
  uid: number;
  home: string;
}

export interface Sshd {
  address: '127.0.0.1';
  port: number;
  pid: number;
  /** The temp dir holding config, keys and log. */
  dir: string;
  /** A client private key (ed25519, no passphrase) that every user may log in with. */
  key: string;
  /** The server's (first) public host key: "ssh-ed25519 AAAA…". */
  hostPublicKey: string;
  /** Every public host key file the server has, by type. */
  hostKeyFiles: Record<string, string>;
  /** The sshd log (LogLevel VERBOSE). */
  log(): string;
  /** Number of logins so far. */
  logins(): number;
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Listen on this port (e.g. to replace a stopped server); default: a free one. */
  port?: number;
  /** Reuse another server's client key (so the same key logs in). */
  clientKey?: string;
  /** Host keys to generate, in the order sshd lists them; default ed25519 only. */
  hostKeyTypes?: ('ed25519' | 'rsa' | 'ecdsa')[];
  /** sshd's MaxSessions (channels per connection); default 64. */
  maxSessions?: number;
}

const SSHD = '/usr/sbin/sshd';

export async function startSshd(t: Hooks, opts: SshdOptions = {}): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'kubestrap-sshd-'));
  const stops: (() => Promise<void>)[] = [];
  t.after(async () => {
    await Promise.all(stops.map((stop) => stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  // sshd reads authorized_keys as the logging-in user: the path must be readable by a test user.
  chmodSync(dir, 0o755);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const hostKeyFiles: Record<string, string> = {};
  for (const type of opts.hostKeyTypes ?? ['ed25519']) {
    hostKeyFiles[type] = join(dir, `host_${type}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'kubestrap-test-host', '-f', hostKeyFiles[type]!]);
  }
  const key = join(dir, 'client_key');
  if (opts.clientKey) {
    copyFileSync(opts.clientKey, key);
    copyFileSync(`${opts.clientKey}.pub`, `${key}.pub`);
    chmodSync(key, 0o600);
  } else {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kubestrap-test-client', '-f', key]);
  }
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${key}.pub`), { mode: 0o644 });
  chmodSync(authorized, 0o644);
  const log = join(dir, 'sshd.log');

  for (let attempt = 0;; attempt++) {
    const port = opts.port ?? (await freePort());
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        'ListenAddress 127.0.0.1',
        `Port ${port}`,
        ...Object.values(hostKeyFiles).map((f) => `HostKey ${f}`),
        `AuthorizedKeysFile ${authorized}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no',
        'StrictModes no',
        `MaxSessions ${opts.maxSessions ?? 64}`,
        'MaxStartups 64:30:128',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        // bash skips ~/.bashrc for SSH commands when SHLVL is set (root's starts pyenv: +150 ms each).
        'SetEnv SHLVL=1',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    writeFileSync(log, '');
    const child = spawn(SSHD, ['-D', '-f', config, '-E', log], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const stop = stopper(child, exited);
    stops.push(stop);
    const ready = await Promise.race([waitForBanner(port, 5000), exited.then(() => false)]);
    if (!ready) {
      await stop();
      const text = readFileSync(log, 'utf8');
      if (!opts.port && attempt < 3 && /Address already in use|Cannot bind/.test(text)) continue;
      throw new Error(`sshd did not start on 127.0.0.1:${port}:\n${text}`);
    }
    return {
      address: '127.0.0.1',
      port,
      pid: child.pid!,
      dir,
      key,
      hostPublicKey: readFileSync(`${Object.values(hostKeyFiles)[0]}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' '),
      hostKeyFiles: Object.fromEntries(Object.entries(hostKeyFiles).map(([k, f]) => [k, `${f}.pub`])),
      log: () => readFileSync(log, 'utf8'),
      logins: () => (readFileSync(log, 'utf8').match(/Accepted publickey for /g) ?? []).length,
      stop,
    };
  }
}

/**
 * A throw-away unix user with /bin/sh as its shell (no rc files to slow each command) and its
 * home in a temp dir, removed when the test ends.
 */
export function createTestUser(t: Hooks): TestUser {
  const name = `kst${randomBytes(4).toString('hex')}`;
  const base = mkdtempSync(join(tmpdir(), 'kubestrap-user-'));
  chmodSync(base, 0o755);
  const home = join(base, name);
  // '*' rather than useradd's locked '!': with UsePAM no, sshd refuses locked accounts.
  retryLocked(() => execFileSync('useradd', ['-M', '-d', home, '-s', '/bin/sh', '-p', '*', '-U', name], { stdio: 'pipe' }));
  t.after(() => {
    try {
      retryLocked(() => execFileSync('userdel', ['-f', name], { stdio: 'pipe' }));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  mkdirSync(home, { mode: 0o755 });
  chownSync(home, uid, uid);
  return { name, uid, home };
}

/** useradd and userdel fail while another process holds /etc/passwd's lock: try again shortly. */
function retryLocked(fn: () => void): void {
  for (let i = 0;; i++) {
    try {
      fn();
      return;
    } catch (e) {
      const msg = String((e as { stderr?: Buffer }).stderr ?? e);
      if (i >= 20 || !/lock|try again/i.test(msg)) throw new Error(`${msg.trim()}`);
      execFileSync('sleep', ['0.2']);
    }
  }
}

function stopper(child: ChildProcess, exited: Promise<number | null>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= (async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  })());
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until the port answers with an SSH banner. */
async function waitForBanner(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port });
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(1000, () => done(false));
      sock.once('data', (b: Buffer) => done(b.toString('latin1').startsWith('SSH-')));
      sock.once('error', () => done(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

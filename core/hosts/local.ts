// The machine kubestrap runs on. Commands go through zx (loaded on first use); reads use fs.
import { promises as fs, constants } from 'node:fs';
import os from 'node:os';
import type { ExecOptions, ExecResult, FileInfo, Host, HostFacts } from './host.ts';
import { UnreadableError } from './host.ts';
import { OutputCollector } from './output.ts';
import { stopper } from './stop.ts';

type Zx = typeof import('zx');
let zx: Promise<Zx> | undefined;

export class LocalHost implements Host {
  readonly name = 'local';
  readonly kind = 'local' as const;

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const { $ } = await (zx ??= import('zx'));
    // The command is already fully quoted by core/quote.ts: zx must pass it through untouched.
    const proc = $({
      quote: (s: string) => s,
      shell: '/bin/sh',
      prefix: '',
      postfix: '',
      nothrow: true,
      quiet: true,
      verbose: false,
      input: opts.stdin === undefined ? undefined : Buffer.from(opts.stdin),
      // Its own process group: an abort must stop everything the command started, not only the shell
      // (killing just /bin/sh leaves e.g. `sh -c 'sleep 30'` running as an orphan).
      detached: true,
    })`${command}`;
    // Abort and timeout are handled here, not by zx, so that every runtime does the same: SIGTERM to
    // the whole group first (the command's traps run and clean up), SIGKILL only if it outlives that.
    const stopping = stopper((sig) => { const pid = proc.pid; if (pid) try { process.kill(-pid, `SIG${sig}`); } catch { /* already gone */ } });
    const stopGroup = () => stopping.stop('stopped');
    const timer = opts.timeoutMs ? setTimeout(stopGroup, opts.timeoutMs) : undefined;
    if (opts.signal?.aborted) stopGroup();
    else opts.signal?.addEventListener('abort', stopGroup, { once: true });
    const lines = opts.onLine ? new OutputCollector(opts.onLine) : undefined;
    if (lines) {
      proc.stdout.on('data', (chunk: Buffer) => lines.add('stdout', chunk));
      proc.stderr.on('data', (chunk: Buffer) => lines.add('stderr', chunk));
    }
    try {
      const out = await proc;
      lines?.end();
      return { stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode, signal: out.signal };
    } finally {
      clearTimeout(timer);
      stopping.done();
      opts.signal?.removeEventListener('abort', stopGroup);
    }
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    try {
      return await fs.readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') throw new UnreadableError(path, this.name);
      throw e;
    }
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const s = await fs.stat(path);
      return { exists: true, isDir: s.isDirectory(), size: s.size, mode: (s.mode & 0o7777).toString(8).padStart(4, '0') };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false };
      if (code === 'EACCES') return { exists: true };
      throw e;
    }
  }

  async diskUsage(path: string): Promise<number | undefined> {
    let total = 0;
    const walk = async (p: string): Promise<void> => {
      let s;
      try { s = await fs.lstat(p); } catch { return; }
      total += s.size;
      if (!s.isDirectory()) return;
      try { await fs.access(p, constants.R_OK | constants.X_OK); } catch { return; }
      for (const name of await fs.readdir(p)) await walk(`${p}/${name}`);
    };
    await walk(path);
    return (await this.stat(path)).exists ? total : undefined;
  }

  async facts(): Promise<HostFacts> {
    const info = os.userInfo();
    return { uid: info.uid, user: info.username, home: os.homedir() };
  }

  shellPrefix(): string[] {
    return [];
  }

  async close(): Promise<void> {}
}

// The machine kubestrap runs on. Commands are spawned under /bin/sh directly (node:child_process:
// cheaper than zx per command, and nothing extra to load); reads use fs.
import { spawn } from 'node:child_process';
import { constants, promises as fs, statSync } from 'node:fs';
import os from 'node:os';
import type { ExecOptions, ExecResult, FileInfo, Host, HostFacts } from './host.ts';
import { UnreadableError } from './host.ts';
import { OutputCollector } from './output.ts';
import { stopper } from './stop.ts';
import { readLocalFile } from '../local-read.ts';
import { words } from '../quote.ts';

/**
 * What the launcher started before the engine loaded (bin/kubestrap.js): the probes that the last
 * run of the same command line ran here before it changed anything, so that they run while the
 * modules load. An answer is used only if the engine asks for exactly that command in exactly that
 * environment.
 */
export interface EarlyStart {
  /**
   * The early run of `command`, once, if it is one of them and the environment is unchanged; else
   * undefined (and the early runs not taken are stopped: what was kept no longer matches).
   */
  take(command: string): { result: Promise<ExecResult>; stop(): void } | undefined;
  /** A command to start early the next time this command line runs, in the order asked. */
  keep(command: string): void;
  /** Stops the early runs that nothing took. */
  stop(): void;
}

export class LocalHost implements Host {
  readonly name = 'local';
  readonly kind = 'local' as const;

  /** `home`: the engine's $HOME (the caller's environment, not necessarily this process's). */
  constructor(private readonly opts: { home?: string; early?: EarlyStart } = {}) {}

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const early = opts.startEarly && opts.stdin === undefined && !opts.onLine ? this.opts.early : undefined;
    if (early) {
      early.keep(command);
      const started = early.take(command);
      if (started) return awaitEarly(started, opts);
    }
    // The command is already fully quoted by core/quote.ts: it goes to the shell as it is.
    // Its own process group: an abort must stop everything the command started, not only the shell
    // (killing just /bin/sh leaves e.g. `sh -c 'sleep 30'` running as an orphan).
    // `sh -c SCRIPT ARGS…` (how probes are written) starts that sh itself, not a shell that starts it.
    const argv = command.startsWith('sh -c ') ? words(command) : undefined;
    const [file, args] = argv ? ['sh', argv.slice(1)] : ['/bin/sh', ['-c', command]];
    const child = spawn(file, args, { detached: true, stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    // SIGTERM to the whole group first (the command's traps run and clean up), SIGKILL only if it outlives that.
    const stopping = stopper((sig) => {
      const pid = child.pid;
      if (pid) {
        try {
          process.kill(-pid, `SIG${sig}`);
        } catch { /* already gone */ }
      }
    });
    const stopGroup = () => stopping.stop('stopped');
    const timer = opts.timeoutMs ? setTimeout(stopGroup, opts.timeoutMs) : undefined;
    if (opts.signal?.aborted) stopGroup();
    else opts.signal?.addEventListener('abort', stopGroup, { once: true });
    const lines = opts.onLine ? new OutputCollector(opts.onLine) : undefined;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => {
      out.push(chunk);
      lines?.add('stdout', chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      err.push(chunk);
      lines?.add('stderr', chunk);
    });
    if (child.stdin) {
      // A command that does not read its input closes the pipe early: that is not a failure here.
      child.stdin.on('error', () => {});
      child.stdin.end(Buffer.from(opts.stdin!));
    }
    return new Promise<ExecResult>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        stopping.done();
        opts.signal?.removeEventListener('abort', stopGroup);
      };
      child.on('error', (e) => {
        done();
        reject(e);
      });
      // 'close': the exit code and every byte of output are in.
      child.on('close', (code, signal) => {
        done();
        lines?.end();
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: code, signal });
      });
    });
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    try {
      return await readLocalFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') throw new UnreadableError(path, this.name);
      throw e;
    }
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      // Synchronous, as readLocalFile: a stat takes microseconds, a trip through the thread pool far longer.
      const s = statSync(path);
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
      try {
        s = await fs.lstat(p);
      } catch {
        return;
      }
      total += s.size;
      if (!s.isDirectory()) return;
      try {
        await fs.access(p, constants.R_OK | constants.X_OK);
      } catch {
        return;
      }
      for (const name of await fs.readdir(p)) await walk(`${p}/${name}`);
    };
    await walk(path);
    return (await this.stat(path)).exists ? total : undefined;
  }

  async facts(): Promise<HostFacts> {
    const info = os.userInfo();
    return { uid: info.uid, gid: info.gid, user: info.username, home: this.opts.home || os.homedir() };
  }

  shellPrefix(): string[] {
    return [];
  }

  async close(): Promise<void> {
    this.opts.early?.stop();
  }
}

/** An early run's answer, stopped like any command on abort or timeout. */
function awaitEarly(started: { result: Promise<ExecResult>; stop(): void }, opts: ExecOptions): Promise<ExecResult> {
  const timer = opts.timeoutMs ? setTimeout(started.stop, opts.timeoutMs) : undefined;
  if (opts.signal?.aborted) started.stop();
  else opts.signal?.addEventListener('abort', started.stop, { once: true });
  return started.result.finally(() => {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', started.stop);
  });
}

// A host inside a container, reached through the Docker Engine API (dockerode, loaded on first
// connect). Podman's service speaks the same API (1.41), so a podman socket works the same way.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { UserError } from '../errors.ts';
import { OutputCollector } from './output.ts';
import type { ExecOptions, ExecResult } from './host.ts';
import { ShellHost } from './host.ts';
import { stopper } from './stop.ts';
import { frames } from '../docker-stream.ts';
import { ExecSession, SESSION_INPUT_MAX } from './docker-session.ts';

export interface DockerConnectOptions {
  container: string;
  /** unix:///path or /path. Default: dockerHost, else /var/run/docker.sock. */
  socket?: string;
  /** DOCKER_HOST as the engine's environment has it. */
  dockerHost?: string;
  /** User the commands run as inside the container (docker exec -u). Default: the image's user. */
  user?: string;
}

const DEFAULT_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];
const DEFAULT_PODMAN_SOCKET = '/run/podman/podman.sock';

/**
 * Stopping an exec: the Engine API has no call that signals an exec's process, and the PID that
 * exec inspect reports lives in the daemon's PID namespace (and is 0 under podman). So every exec
 * carries a random token in its environment, and a second exec, as root, signals the processes
 * whose environment holds it plus all their descendants (sudo resets the environment, the parent
 * links still lead there). Only sh, tr, grep and wc are needed: coreutils or busybox.
 */
const KILL_SCRIPT = [
  'tok="KUBESTRAP_EXEC=$1"; sig=$2; pids=',
  'for d in /proc/[0-9]*; do',
  '  if tr "\\0" "\\n" < "$d/environ" 2>/dev/null | grep -qxF "$tok"; then pids="$pids ${d#/proc/}"; fi',
  'done',
  '[ -n "$pids" ] || exit 0',
  'table=$(for s in /proc/[0-9]*/stat; do read -r l < "$s" 2>/dev/null || continue; r=${l##*) }; set -- $r; p=${s#/proc/}; echo "${p%/stat} $2"; done)',
  'n=0',
  'while [ "$n" != "$(echo $pids | wc -w)" ]; do',
  '  n=$(echo $pids | wc -w)',
  '  for p in $pids; do',
  '    for c in $(echo "$table" | while read -r c pp; do [ "$pp" = "$p" ] && echo "$c"; done); do',
  '      case " $pids " in *" $c "*) ;; *) pids="$pids $c";; esac',
  '    done',
  '  done',
  'done',
  'kill -s "$sig" $pids 2>/dev/null',
  'exit 0',
].join('\n');

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 9: 'SIGKILL', 15: 'SIGTERM' };

export class DockerHost extends ShellHost {
  readonly kind = 'docker' as const;
  readonly name: string;
  private closed = false;

  private constructor(
    private readonly docker: Dockerode,
    readonly container: string,
    readonly socket: string,
    readonly engine: 'docker' | 'podman',
    private readonly user: string | undefined,
  ) {
    super();
    this.name = `docker:${container}`;
  }

  static async connect(opts: DockerConnectOptions): Promise<DockerHost> {
    const socket = socketPath(opts.socket, opts.dockerHost);
    const { default: Docker } = await import('dockerode');
    const docker = new Docker({ socketPath: socket });
    let engine: 'docker' | 'podman';
    try {
      const version = await docker.version();
      engine = (version.Components ?? []).some((c) => /podman/i.test(c.Name)) ? 'podman' : 'docker';
    } catch (e) {
      throw unreachable(socket, e);
    }
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await docker.getContainer(opts.container).inspect();
    } catch (e) {
      if (statusOf(e) === 404) {
        throw new UserError('DOCKER_NO_CONTAINER', `container ${opts.container} does not exist (${engine} at ${socket})`, {
          fix: `create it first, or check the name with: ${engine} ps -a`,
        });
      }
      throw unreachable(socket, e);
    }
    if (!info.State.Running) {
      throw new UserError(
        'DOCKER_NO_CONTAINER',
        `container ${opts.container} is not running (${info.State.Status}${info.State.Status === 'exited' ? `, exit code ${info.State.ExitCode}` : ''})`,
        { fix: `start it: ${engine} start ${opts.container}` },
      );
    }
    return new DockerHost(docker, opts.container, socket, engine, opts.user);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    opts.signal?.throwIfAborted();
    if (this.closed) throw new Error(`${this.name} was closed by kubestrap`);
    const token = randomBytes(12).toString('hex');
    // A command runs in one of the host's sessions, fed its input there when it is small (a file a
    // step writes); one fed more gets an exec of its own.
    const input = typeof opts.stdin === 'string' ? Buffer.from(opts.stdin, 'utf8') : opts.stdin;
    if (input === undefined || input.length <= SESSION_INPUT_MAX) return this.execInSession(command, opts, token, input);
    let exec: Dockerode.Exec;
    let stream: Duplex;
    try {
      exec = await this.docker.getContainer(this.container).exec({
        Cmd: ['/bin/sh', '-c', command],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Env: [`KUBESTRAP_EXEC=${token}`],
        ...(this.user ? { User: this.user } : {}),
      });
      stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
    } catch (e) {
      throw this.lostContainer(e);
    }
    const out = await this.collect(stream, opts, token, input);
    const exit = await this.exitOf(exec, command, !!out.stoppedBy);
    return result(out, exit, !!out.stoppedBy);
  }

  /** The CLI that reaches the same container, for `plan --format sh`. */
  shellPrefix(): string[] {
    const user = this.user ? ['-u', this.user] : [];
    if (this.engine === 'podman') {
      const url = this.socket === DEFAULT_PODMAN_SOCKET ? [] : ['--url', `unix://${this.socket}`];
      return ['podman', ...url, 'exec', '-i', ...user, this.container, 'sh', '-c'];
    }
    const host = DEFAULT_SOCKETS.includes(this.socket) ? [] : ['-H', `unix://${this.socket}`];
    return ['docker', ...host, 'exec', '-i', ...user, this.container, 'sh', '-c'];
  }

  async close(): Promise<void> {
    // Each session's shell ends with its input; execs are plain HTTP over a unix socket and leave nothing open.
    this.closed = true;
    for (const s of this.sessions) s.close();
    this.sessions = [];
  }

  /** Sessions that run commands without input (core/hosts/docker-session.ts): one more whenever all are busy. */
  private sessions: ExecSession[] = [];

  private async execInSession(command: string, opts: ExecOptions, token: string, input?: Uint8Array): Promise<ExecResult> {
    this.sessions = this.sessions.filter((s) => s.usable);
    let session = this.sessions.find((s) => !s.busy);
    if (!session) {
      try {
        session = await ExecSession.open(this.docker.getContainer(this.container), this.user, this.name);
      } catch (e) {
        throw this.lostContainer(e);
      }
      if (this.closed) {
        session.close();
        throw new Error(`${this.name} was closed by kubestrap`);
      }
      this.sessions.push(session);
    }
    const s = session;
    const output = new OutputCollector(opts.onLine);
    // Last resort: if even KILL does not end the command, drop its session.
    const stopping = stopper((sig) => this.signalExec(token, sig), () => s.destroy());
    const onAbort = () => stopping.stop('aborted');
    const timer = opts.timeoutMs ? setTimeout(() => stopping.stop('timeout'), opts.timeoutMs) : undefined;
    const running = s.run(command, token, (stream, chunk) => output.add(stream, chunk), input);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    let status: number | undefined;
    try {
      status = await running;
    } catch (e) {
      if (!stopping.why) throw e;
    } finally {
      clearTimeout(timer);
      stopping.done();
      opts.signal?.removeEventListener('abort', onAbort);
    }
    return result(output.end(), status ?? null, !!stopping.why);
  }

  /** Demultiplexes the hijacked stream until it ends; feeds it `input`; stops the command on abort or timeout. */
  private collect(stream: Duplex, opts: ExecOptions, token: string, input: Uint8Array): Promise<{ stdout: string; stderr: string; stoppedBy?: string }> {
    return new Promise((resolve, reject) => {
      const output = new OutputCollector(opts.onLine);
      const demux = frames((type, payload) => {
        if (type === 1) output.add('stdout', payload);
        else if (type === 2) output.add('stderr', payload);
      });
      stream.on('data', demux);

      // Last resort: if even KILL does not end the stream, stop waiting for it.
      const stopping = stopper((sig) => this.signalExec(token, sig), () => stream.destroy());
      const stop = (why: string) => stopping.stop(why);
      const onAbort = () => stop('aborted');
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = opts.timeoutMs ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined;

      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopping.done();
        opts.signal?.removeEventListener('abort', onAbort);
        const out = output.end();
        const stoppedBy = stopping.why;
        if (error && !stoppedBy) reject(new Error(`the connection to ${this.name} failed: ${error.message}`, { cause: error }));
        else resolve({ ...out, ...(stoppedBy ? { stoppedBy } : {}) });
      };
      stream.on('end', () => finish());
      stream.on('close', () => finish());
      stream.on('error', (e: NodeJS.ErrnoException) => {
        // A command that exits without reading its stdin closes the pipe under our write: not a failure.
        if (e.code === 'EPIPE' || e.code === 'ECONNRESET') return;
        finish(e);
      });

      // Stdin is written and then half-closed, so a command that reads it sees end of file.
      stream.end(input);
    });
  }

  /** Why an exec could not start: the container went away or stopped, or the engine did. */
  private lostContainer(e: unknown): Error {
    const status = statusOf(e);
    if (status === 404) return new Error(`container ${this.container} no longer exists (${this.engine} at ${this.socket})`, { cause: e });
    if (status === 409) return new Error(`container ${this.container} is not running any more (${this.engine} at ${this.socket})`, { cause: e });
    if (status === undefined) return unreachable(this.socket, e);
    return e instanceof Error ? e : new Error(String(e));
  }

  /** Signals an exec's processes from a second exec (see KILL_SCRIPT). Failures are ignored: the timers escalate. */
  private signalExec(token: string, sig: 'TERM' | 'KILL'): void {
    void (async () => {
      const killer = await this.docker.getContainer(this.container).exec({
        Cmd: ['/bin/sh', '-c', KILL_SCRIPT, 'kubestrap-kill', token, sig],
        AttachStdout: true,
        AttachStderr: true,
        User: '0',
      });
      const s = (await killer.start({ hijack: true, stdin: false })) as Duplex;
      s.resume();
      await new Promise((r) => {
        s.on('end', r);
        s.on('close', r);
        s.on('error', r);
      });
    })().catch(() => {});
  }

  /** The exit code; the daemon can report the exec as running for a moment after its output ended. */
  private async exitOf(exec: Dockerode.Exec, command: string, stopped: boolean): Promise<number | null> {
    for (let i = 0;; i++) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return info.ExitCode;
      if (stopped && (!info.Running || i >= 20)) return null;
      if (!info.Running || i >= 100) {
        const state = await this.docker.getContainer(this.container).inspect().then((c) => c.State.Status, () => 'gone');
        throw new Error(`${command} on ${this.name} ended without an exit status (container ${state})`);
      }
      await new Promise((r) => setTimeout(r, i < 10 ? 10 : 50));
    }
  }
}

/** A command's result; one we stopped shows up as 128 + signal (or no status): reported as a signal, like a killed local process. */
function result(out: { stdout: string; stderr: string }, status: number | null, stopped: boolean): ExecResult {
  if (stopped && (status === null || status > 128)) {
    const sig = status !== null ? SIGNALS[status - 128] ?? `signal ${status - 128}` : 'SIGKILL';
    return { stdout: out.stdout, stderr: out.stderr, exitCode: null, signal: sig };
  }
  return { stdout: out.stdout, stderr: out.stderr, exitCode: status, signal: null };
}

function socketPath(socket: string | undefined, dockerHost: string | undefined): string {
  const raw = socket || dockerHost || DEFAULT_SOCKETS[0]!;
  if (raw.startsWith('unix://')) return raw.slice('unix://'.length);
  if (raw.startsWith('/')) return raw;
  throw new UserError('DOCKER_UNREACHABLE', `docker socket ${raw}${socket ? '' : ' (from DOCKER_HOST)'} is not a unix socket`, {
    fix: 'give the socket as unix:///path/to/docker.sock (tcp:// and ssh:// are not supported)',
  });
}

function statusOf(e: unknown): number | undefined {
  return e && typeof e === 'object' && typeof (e as { statusCode?: unknown }).statusCode === 'number' ? (e as { statusCode: number }).statusCode : undefined;
}

function unreachable(socket: string, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why = code === 'ENOENT'
    ? 'no such socket'
    : code === 'ECONNREFUSED'
    ? 'nothing listens on it'
    : code === 'EACCES'
    ? 'permission denied'
    : (e as Error | undefined)?.message ?? String(e);
  const fix = code === 'EACCES'
    ? `add your user to the docker group (sudo usermod -aG docker $USER) and log in again, or use a socket you may open`
    : "start the daemon (sudo systemctl start docker, or: podman system service --time=0 unix://PATH), or set DOCKER_HOST / the host's docker.socket to its socket";
  return new UserError('DOCKER_UNREACHABLE', `cannot reach the container engine at ${socket}: ${why}`, { fix, cause: e });
}

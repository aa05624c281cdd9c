// One long-lived exec in a container that runs the host's commands one after another: each command
// is then a fork inside the container instead of an exec the daemon creates, starts (runc joins the
// container's namespaces and cgroup) and inspects, which costs tens of milliseconds of the daemon's
// CPU each. Commands still run as `/bin/sh -c COMMAND`, in the exec's environment and directory,
// with their own KUBESTRAP_EXEC token (so the container host stops them as before) and no input.
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { frames } from '../docker-stream.ts';

/**
 * The session's shell. A request is a line `TOKEN MARK [1]`, the command's lines, then a line `MARK`;
 * with `1`, one more line holds the command's input as a printf format (printfInput), which the
 * session's own printf feeds to it, so the input is in no process's arguments. After the command,
 * `MARK STATUS` ends its output on stdout and `MARK` on stderr. MARK is in no process's
 * environment, so no command prints it by accident (not even `env`).
 */
const SESSION_SCRIPT = [
  'while IFS=" " read -r t m i; do',
  '  c=; n=',
  '  while IFS= read -r l; do',
  '    [ "$l" = "$m" ] && break',
  '    if [ -z "$n" ]; then c=$l; n=1; else c="$c',
  '$l"; fi',
  '  done',
  '  if [ -n "$i" ]; then',
  '    IFS= read -r d',
  '    printf "$d" | KUBESTRAP_EXEC=$t /bin/sh -c "$c"',
  '  else',
  '    KUBESTRAP_EXEC=$t /bin/sh -c "$c" </dev/null',
  '  fi',
  '  s=$?',
  '  printf "%s %s\\n" "$m" "$s"',
  '  printf "%s\\n" "$m" >&2',
  'done',
].join('\n');

/** What the current command's output goes to, and how it ends. */
interface Running {
  mark: string;
  out: MarkedStream;
  err: MarkedStream;
  onData(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  resolve(exitCode: number): void;
  reject(e: Error): void;
}

export class ExecSession {
  private running: Running | undefined;
  private dead: Error | undefined;

  private constructor(private readonly stream: Duplex, private readonly where: string) {
    stream.on(
      'data',
      frames((type, payload) => {
        const r = this.running;
        if (!r) return;
        if (type === 1) r.out.add(payload, (b) => r.onData('stdout', b));
        else if (type === 2) r.err.add(payload, (b) => r.onData('stderr', b));
        if (r.out.status !== undefined && r.err.status !== undefined) {
          this.running = undefined;
          r.resolve(r.out.status);
        }
      }),
    );
    const lost = (e?: Error) => {
      this.dead ??= new Error(`the connection to ${where} failed: ${e ? e.message : 'the session ended'}`, e ? { cause: e } : {});
      const r = this.running;
      this.running = undefined;
      r?.reject(this.dead);
    };
    stream.on('end', () => lost());
    stream.on('close', () => lost());
    stream.on('error', (e) => lost(e));
  }

  /** Starts the session's shell in the container (as `user`, else the image's user). */
  static async open(container: Dockerode.Container, user: string | undefined, where: string): Promise<ExecSession> {
    const exec = await container.exec({
      Cmd: ['/bin/sh', '-c', SESSION_SCRIPT, 'kubestrap-session'],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      ...(user ? { User: user } : {}),
    });
    return new ExecSession((await exec.start({ hijack: true, stdin: true })) as Duplex, where);
  }

  /** False once the session ended or failed: it takes no more commands. */
  get usable(): boolean {
    return !this.dead;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Runs one command with this KUBESTRAP_EXEC token, fed `input` (else /dev/null); its output goes
   * to onData as it comes. Resolves to its exit status.
   */
  run(command: string, token: string, onData: Running['onData'], input?: Uint8Array): Promise<number> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.running) return Promise.reject(new Error(`${this.where}: a session runs one command at a time`));
    const mark = randomBytes(12).toString('hex');
    return new Promise((resolve, reject) => {
      this.running = { mark, out: new MarkedStream(`${mark} `, true), err: new MarkedStream(`${mark}\n`, false), onData, resolve, reject };
      // Lines up to the mark line: a command ending in a newline sends an empty last line, so it is kept exactly.
      this.stream.write(`${token} ${mark}${input ? ' 1' : ''}\n${command}\n${mark}\n${input ? `${printfInput(input)}\n` : ''}`);
    });
  }

  /** Ends the session: its shell reads the end of its input and exits. */
  close(): void {
    this.dead ??= new Error(`${this.where}: the session was closed`);
    this.stream.end();
  }

  /** Drops the connection (the last resort of a stop that did not end the command). */
  destroy(): void {
    this.stream.destroy();
  }
}

/** Input small enough to go through a session (a file a step writes); larger input gets an exec of its own. */
export const SESSION_INPUT_MAX = 64 * 1024;

/**
 * Bytes as one line that printf turns back into them: printable ASCII as it is, `\\` and `%` doubled,
 * every other byte (newlines too) and a leading `-` (an option to printf) as a 3-digit octal escape.
 */
export function printfInput(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x5c) out += '\\\\';
    else if (b === 0x25) out += '%%';
    else if (b >= 0x20 && b <= 0x7e && !(i === 0 && b === 0x2d)) out += String.fromCharCode(b);
    else out += `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/**
 * One output stream of the current command, up to the mark the session prints after it. Bytes that
 * may be the start of the mark are held back until the next chunk says whether they are.
 */
class MarkedStream {
  private held: Buffer = Buffer.alloc(0);
  /** The command's exit status (stdout) or 0 (stderr), once the mark came. */
  status: number | undefined;

  constructor(private readonly mark: string, private readonly withStatus: boolean) {}

  add(chunk: Buffer, emit: (b: Buffer) => void): void {
    if (this.status !== undefined) return;
    const buf = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const at = buf.indexOf(this.mark);
    if (at < 0) {
      const keep = Math.min(buf.length, this.mark.length - 1);
      if (buf.length > keep) emit(buf.subarray(0, buf.length - keep));
      this.held = buf.subarray(buf.length - keep);
      return;
    }
    if (this.withStatus) {
      const eol = buf.indexOf('\n', at + this.mark.length);
      if (eol < 0) {
        if (at > 0) emit(buf.subarray(0, at));
        this.held = buf.subarray(at);
        return;
      }
      if (at > 0) emit(buf.subarray(0, at));
      this.status = Number(buf.subarray(at + this.mark.length, eol).toString('latin1'));
    } else {
      if (at > 0) emit(buf.subarray(0, at));
      this.status = 0;
    }
    this.held = Buffer.alloc(0);
  }
}

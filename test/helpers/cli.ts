// Runs the CLI in this process with captured output, the way a user would call it.
import { type Io, main } from '../../cli.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  argv: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; tty?: boolean; answer?: string; signal?: AbortSignal } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    argv,
    env: { NO_COLOR: '1', ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    stdout: {
      write: (s: string) => {
        stdout += s;
      },
      isTTY: opts.tty ?? false,
      columns: 120,
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
      },
      isTTY: false,
    },
    stdinIsTTY: opts.tty ?? false,
    ask: async () => opts.answer ?? '',
    signal: opts.signal ?? new AbortController().signal,
  };
  const code = await main(io);
  return { code, stdout, stderr };
}

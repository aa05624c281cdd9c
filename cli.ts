#!/usr/bin/env node
// The command line: parse argv, call the engine once, print, set the exit code. Nothing else;
// each command is one function in cli/commands.ts.
import { cac } from 'cac';
import { fileURLToPath } from 'node:url';
import { App } from './cli/app.ts';
import { commands } from './cli/commands.ts';
import { EXIT, UserError } from './core/errors.ts';
import { fromSource, isMain } from './core/runtime.ts';
import { styleFor, type Style } from './core/render/style.ts';

export interface Io {
  argv: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  stdout: { write(s: string): void; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): void; isTTY?: boolean };
  stdinIsTTY: boolean;
  /** Asks a yes/no question on the terminal. */
  ask(question: string): Promise<string>;
  signal: AbortSignal;
}

const root = fileURLToPath(new URL(fromSource ? '.' : '..', import.meta.url));
const VERSION = '0.1.0';

export async function main(io: Io): Promise<number> {
  const verbose = io.argv.includes('-v') || io.argv.includes('--verbose');
  const style = styleFor(!!io.stdout.isTTY, io.env);
  try {
    const cli = cac('kubestrap');
    cli.option('--tasks <path>', 'Load custom task files (a file or a directory; repeatable)')
      .option('--json', 'Print one JSON event per line')
      .option('-v, --verbose', 'Show command output and error stacks')
      .option('--yes', 'Do not ask before running commands as root')
      .option('-p, --profile <name>', 'Profile name', { default: 'kubestrap' })
      .option('--concurrency <n>', 'Steps run at once', { default: 4 })
      .option('--only <step>', 'Only this step and the steps it needs (repeatable)');
    const app = new App(io, style, verbose, root);
    for (const register of commands) register(cli, app);
    cli.help();
    cli.version(VERSION);

    cli.parse(['node', 'kubestrap', ...io.argv], { run: false });
    if (!cli.matchedCommand) {
      if (cli.options.help || cli.options.version) return 0;
      const name = cli.args[0];
      if (name === undefined) { cli.outputHelp(); return EXIT.ok; }
      const { didYouMean } = await import('./core/errors.ts');
      throw new UserError('USAGE', `unknown command '${name}'`, { fix: didYouMean(String(name), cli.commands.map((c) => c.name).filter(Boolean)) ?? 'see kubestrap --help' });
    }
    if (cli.options.help) return 0;
    await cli.runMatchedCommand();
    return app.exitCode;
  } catch (e) {
    return report(e, io, verbose, style);
  }
}

function report(e: unknown, io: Io, verbose: boolean, style: Style): number {
  if (e instanceof UserError) {
    io.stderr.write(`${style.red('kubestrap:')} ${e.line()}\n`);
    if (verbose && e.stack) io.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as Error & { name?: string };
  if (err && err.name === 'CACError') {
    io.stderr.write(`${style.red('kubestrap:')} ${err.message} (see kubestrap --help) [USAGE]\n`);
    return EXIT.badInput;
  }
  io.stderr.write(`${style.red('kubestrap: internal error:')} ${err?.message ?? String(e)}\n`);
  if (verbose && err?.stack) io.stderr.write(err.stack + '\n');
  else io.stderr.write('run again with --verbose for the stack\n');
  return EXIT.failed;
}

/** Runs the CLI for this process: wires stdio, SIGINT and the exit code. */
export async function runProcess(): Promise<void> {
  // `kubestrap tasks | head`: a reader that stops early is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e; });
  }
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts++;
    if (interrupts === 1) { process.stderr.write('\ninterrupting: stopping running commands (Ctrl-C again to quit at once)\n'); controller.abort(); }
    else process.exit(130);
  });
  const io: Io = {
    argv: process.argv.slice(2), env: process.env, cwd: process.cwd(),
    stdout: process.stdout, stderr: process.stderr, stdinIsTTY: !!process.stdin.isTTY, signal: controller.signal,
    ask: async (q) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try { return await rl.question(q); } finally { rl.close(); }
    },
  };
  process.exitCode = await main(io);
}

if (isMain(import.meta.url)) await runProcess();

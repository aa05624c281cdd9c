#!/usr/bin/env node
// The command line: parse argv, call the engine once, print, set the exit code. Nothing else;
// each command is one function in cli/commands.ts.
import { type CAC, cac } from 'cac';
import { fileURLToPath } from 'node:url';
import { App } from './cli/app.ts';
import { commands } from './cli/commands.ts';
import { didYouMean, EXIT, UserError } from './core/errors.ts';
import { fromSource, isMain } from './core/runtime.ts';
import { type Style, styleFor } from './core/render/style.ts';
import { terminalText } from './core/render/escape.ts';
import { Secrets } from './core/secrets.ts';
import type { EarlyStart } from './core/hosts/local.ts';
import { flagKey } from './options/option.ts';

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
  /** What the installed launcher started before this loaded (bin/kubestrap.js). */
  early?: EarlyStart;
}

const root = fileURLToPath(new URL(fromSource ? '.' : '..', import.meta.url));
const VERSION = '0.1.0';

export async function main(io: Io): Promise<number> {
  const verbose = io.argv.includes('-v') || io.argv.includes('--verbose');
  const style = styleFor(!!io.stdout.isTTY, io.env);
  // Secret values met during this call: every event, plan, state and error line is redacted with it.
  const secrets = new Secrets();
  const cli = cac('kubestrap');
  try {
    cli.option('--tasks <path>', 'Load custom task files (a file or a directory; repeatable)')
      .option('--json', 'Print one JSON event per line')
      .option('-v, --verbose', 'Show command output and error stacks')
      .option('--yes', 'Do not ask before running commands as root')
      .option('-p, --profile <name>', 'Profile name', { default: 'kubestrap' })
      .option('--concurrency <n>', 'Steps run at once', { default: 4 })
      .option('--only <step>', 'Only this step and the steps it needs (repeatable)')
      .option('--allow-recipe-probes', "Also run the read-only commands a recipe supplies (run-command's unless:) while planning");
    const app = new App(io, style, verbose, root, secrets);
    for (const register of commands) register(cli, app);
    cli.help();
    // -v is --verbose (declared above): the version answers to --version only.
    cli.version(VERSION, '--version');

    cli.parse(['node', 'kubestrap', ...io.argv], { run: false });
    if (!cli.matchedCommand) {
      if (cli.options.help || cli.options.version) return 0;
      const name = cli.args[0];
      if (name === undefined) {
        // `kubestrap --nope` is a typo, not a request for help.
        cli.globalCommand.checkUnknownOptions();
        cli.outputHelp();
        return EXIT.ok;
      }
      throw new UserError('USAGE', `unknown command '${name}'`, {
        fix: didYouMean(String(name), cli.commands.map((c) => c.name).filter(Boolean)) ?? 'see kubestrap --help',
      });
    }
    if (cli.options.help) return 0;
    keepStrings(io.argv, [...cli.globalCommand.options, ...cli.matchedCommand.options], cli.options);
    await cli.runMatchedCommand();
    return app.exitCode;
  } catch (e) {
    if (io.signal.aborted && !(e instanceof UserError)) {
      io.stderr.write(`${style.red('kubestrap:')} interrupted [INTERRUPTED]\n`);
      return EXIT.interrupted;
    }
    if (e instanceof Error) e.message = secrets.redact(e.message);
    return report(unknownOption(e, io.argv, cli) ?? e, io, verbose, style);
  }
}

/**
 * Option values are the strings the user typed: cac turns '007' into 7 and '' into 0, and names,
 * ids and versions are not numbers (`-p 007`, `--only 007`, `--kubernetes-version 1.30`).
 */
function keepStrings(argv: readonly string[], options: readonly { names: string[]; rawName: string }[], parsed: Record<string, unknown>): void {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  for (const o of options) {
    if (!/[<[]/.test(o.rawName)) continue;
    const flags = o.rawName.split(',').map((f) => f.trim().split(/\s/)[0]!);
    const values: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const flag = flags.find((f) => a === f || a.startsWith(`${f}=`));
      if (!flag) continue;
      if (a === flag) { if (i + 1 < args.length) values.push(args[++i]!); }
      else values.push(a.slice(flag.length + 1));
    }
    if (values.length) { for (const n of o.names) parsed[n] = values.length === 1 ? values[0] : values; }
  }
}

/**
 * cac names an unknown option in camelCase (`--sshAddress`): name it as typed, with the nearest
 * option the command has.
 */
function unknownOption(e: unknown, argv: readonly string[], cli: CAC): UserError | undefined {
  const m = e instanceof Error && e.name === 'CACError' ? /^Unknown option `--?([^`]+)`/.exec(e.message) : null;
  if (!m) return undefined;
  const typed = argv.map((a) => a.split('=')[0]!).find((a) => /^--?[^-]/.test(a) && flagKey(a.replace(/^--?/, '')) === m[1]) ?? `--${m[1]}`;
  const options = [...cli.globalCommand.options, ...(cli.matchedCommand?.options ?? [])];
  const flags = options.flatMap((o) => o.rawName.split(',').map((f) => f.trim().split(/\s/)[0]!)).filter((f) => f.startsWith('--'));
  const help = cli.matchedCommand?.name ? `kubestrap ${cli.matchedCommand.name} --help` : 'kubestrap --help';
  return new UserError('USAGE', `unknown option '${typed}'`, { fix: didYouMean(typed, flags) ?? `see ${help}` });
}

function report(e: unknown, io: Io, verbose: boolean, style: Style): number {
  if (e instanceof UserError) {
    io.stderr.write(`${style.red('kubestrap:')} ${terminalText(e.line())}\n`);
    if (verbose && e.stack) io.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as Error & { name?: string };
  if (err && err.name === 'CACError') {
    io.stderr.write(`${style.red('kubestrap:')} ${terminalText(err.message)} (see kubestrap --help) [USAGE]\n`);
    return EXIT.badInput;
  }
  io.stderr.write(`${style.red('kubestrap: internal error:')} ${terminalText(err?.message ?? String(e))}\n`);
  if (verbose && err?.stack) io.stderr.write(err.stack + '\n');
  else io.stderr.write('run again with --verbose for the stack\n');
  return EXIT.failed;
}

/** What the launcher hands over (bin/kubestrap.js). */
const launched = globalThis as { kubestrapEarly?: EarlyStart };

/** Runs the CLI for this process: wires stdio, signals and the exit code. */
export async function runProcess(): Promise<void> {
  // `kubestrap tasks | head`: a reader that stops early is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
  const controller = new AbortController();
  let interrupts = 0;
  let signalCode = 130;
  // SIGTERM and SIGHUP stop a run the way Ctrl-C does: running commands stopped, state saved, lock freed.
  const onSignal = (name: 'SIGINT' | 'SIGTERM' | 'SIGHUP', code: number) => () => {
    interrupts++;
    if (interrupts === 1) {
      signalCode = code;
      process.stderr.write(
        `\ninterrupting: stopping running commands (${name}; ${name === 'SIGINT' ? 'Ctrl-C again to quit at once' : 'again to quit at once'})\n`,
      );
      controller.abort();
    } else process.exit(code);
  };
  process.on('SIGINT', onSignal('SIGINT', 130));
  process.on('SIGTERM', onSignal('SIGTERM', 143));
  process.on('SIGHUP', onSignal('SIGHUP', 129));
  const io: Io = {
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: !!process.stdin.isTTY,
    signal: controller.signal,
    ...(launched.kubestrapEarly ? { early: launched.kubestrapEarly } : {}),
    ask: async (q) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      // Ctrl-C at the prompt: readline catches it on a terminal, so pass it on as an interrupt.
      rl.on('SIGINT', () => {
        interrupts++;
        controller.abort();
      });
      try {
        return await rl.question(q, { signal: controller.signal });
      } finally {
        rl.close();
      }
    },
  };
  // A task whose promise never settles, with nothing left to wait for, would end the process with
  // Node's code 13 and no word: say so, and exit 1 (its lock is stale and taken over next time).
  let finished = false;
  const stuck = () => {
    if (finished) return;
    process.stderr.write('kubestrap: a step never finished: its task awaits something that can never happen (a promise nothing settles) [TASK_STUCK]\n');
    process.exit(EXIT.failed);
  };
  process.on('beforeExit', stuck);
  const code = await main(io);
  io.early?.stop();
  finished = true;
  process.off('beforeExit', stuck);
  process.exitCode = code === EXIT.interrupted ? signalCode : code;
}

// Not awaited: the installed CLI is a CommonJS bundle (scripts/build.mjs), which has no top-level await.
if (isMain(import.meta.url)) void runProcess();

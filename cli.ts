#!/usr/bin/env node
// The command line: parse argv, call the engine once, print, set the exit code. Nothing else.
import { cac } from 'cac';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { writeFileSync, renameSync } from 'node:fs';
import { EXIT, RefusedError, UserError } from './core/errors.ts';
import { Events } from './core/events.ts';
import type { EngineOptions } from './core/engine.ts';
import type { PlanDocument } from './core/plan.ts';
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

interface Global {
  tasks?: string | string[];
  json?: boolean;
  verbose?: boolean;
  yes?: boolean;
  profile?: string;
  concurrency?: number;
  only?: string | string[];
}

export async function main(io: Io): Promise<number> {
  const cli = cac('kubestrap');
  let exitCode = 0;
  const verbose = io.argv.includes('-v') || io.argv.includes('--verbose');
  const style = styleFor(!!io.stdout.isTTY, io.env);

  cli.option('--tasks <path>', 'Load custom task files (a file or a directory; repeatable)')
    .option('--json', 'Print one JSON event per line')
    .option('-v, --verbose', 'Show command output and error stacks')
    .option('--yes', 'Do not ask before running commands as root')
    .option('-p, --profile <name>', 'Profile name', { default: 'kubestrap' })
    .option('--concurrency <n>', 'Steps run at once', { default: 4 })
    .option('--only <step>', 'Only this step and the steps it needs (repeatable)');

  const engineOptions = async (g: Global, events: Events): Promise<EngineOptions> => {
    const { builtinTasks } = await import('./tasks/index.ts');
    const concurrency = Number(g.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UserError('USAGE', '--concurrency must be a whole number ≥ 1');
    return {
      env: io.env, cwd: io.cwd, recipeDirs: [join(root, 'recipes')], builtinTasks,
      taskFiles: ([] as string[]).concat(g.tasks ?? []).map((t) => resolve(io.cwd, t)),
      profile: String(g.profile ?? 'kubestrap'), concurrency, events, signal: io.signal,
      ...(g.only !== undefined ? { only: ([] as unknown[]).concat(g.only).map(String) } : {}),
    };
  };

  const sets = (v: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const item of ([] as unknown[]).concat(v ?? [])) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq <= 0) throw new UserError('USAGE', `--set ${s}: expected key=value`, { fix: 'e.g. --set text=hello' });
      out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  };

  const renderEvents = (g: Global, events: Events): (() => void) => {
    if (g.json) { const { jsonRenderer } = renderers; return events.on(jsonRenderer(io.stdout)); }
    if (io.stdout.isTTY && !verbose) {
      const tty = renderers.ttyRenderer(io.stdout, style, () => io.stdout.columns ?? 100);
      const off = events.on(tty.listener);
      return () => { tty.stop(); off(); };
    }
    return events.on(renderers.plainRenderer(io.stdout, style, verbose));
  };

  const confirmFor = (g: Global) => async (plan: PlanDocument): Promise<void> => {
    const { privileged } = await import('./core/engine.ts');
    const { renderPlanText } = await import('./core/render/plan-text.ts');
    io.stdout.write(g.json ? JSON.stringify({ type: 'plan', plan }) + '\n' : renderPlanText(plan, style) + '\n');
    const rootCount = privileged(plan);
    if (rootCount === 0 || g.yes) return;
    if (!io.stdinIsTTY || !io.stdout.isTTY) {
      throw new RefusedError('CONFIRMATION_NEEDED', `the plan runs ${rootCount} commands as root and there is no terminal to confirm`, { fix: 'review the plan above, then pass --yes' });
    }
    const answer = (await io.ask(`Run ${rootCount} commands as root? [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new RefusedError('CONFIRMATION_DECLINED', 'not confirmed: nothing was changed');
  };

  let renderers: typeof import('./core/render/events.ts');

  cli.command('run <recipe>', 'Plan a recipe, confirm, then run exactly that plan')
    .option('--set <key=value>', 'Set a recipe parameter (repeatable)')
    .option('--dry-run', 'Only plan (same as kubestrap plan)')
    .option('--format <format>', 'With --dry-run: text, json or sh', { default: 'text' })
    .option('--out <file>', 'With --dry-run: also save the plan as JSON')
    .action(async (recipe: string, o: Global & { set?: unknown; dryRun?: boolean; format: string; out?: string }) => {
      if (o.dryRun) { exitCode = await doPlan(recipe, o); return; }
      exitCode = await doRun(o, (engine, opts) => engine.run(opts, recipe, sets(o.set), confirmFor(o)));
    });

  cli.command('plan <recipe>', 'Show every command and system change a recipe would make')
    .option('--set <key=value>', 'Set a recipe parameter (repeatable)')
    .option('--format <format>', 'text, json or sh', { default: 'text' })
    .option('--out <file>', 'Also save the plan as JSON, for kubestrap apply')
    .action(async (recipe: string, o: Global & { set?: unknown; format: string; out?: string }) => {
      exitCode = await doPlan(recipe, o);
    });

  cli.command('apply <plan>', 'Run exactly a saved plan; refuse if the machine drifted since')
    .action(async (file: string, o: Global) => {
      exitCode = await doRun(o, (engine, opts) => engine.apply(opts, resolve(io.cwd, file), confirmFor(o)));
    });

  cli.command('list', 'List shipped recipes and profiles')
    .action(async (o: Global) => {
      const { listRecipes, loadRecipe } = await import('./core/recipe.ts');
      const { listProfiles, kubestrapHome, readState } = await import('./core/profile.ts');
      const recipes = listRecipes([join(root, 'recipes')]).map((r) => ({ name: r.name, description: loadRecipe(r.file).description }));
      const home = kubestrapHome(io.env);
      const profiles = listProfiles(home).map((p) => ({ name: p, state: readState(home, p) }));
      if (o.json) { io.stdout.write(JSON.stringify({ recipes, profiles: profiles.map((p) => ({ name: p.name, recipe: p.state?.recipe, status: p.state?.status })) }) + '\n'); return; }
      io.stdout.write(style.bold('Recipes') + '\n');
      for (const r of recipes) io.stdout.write(`  ${r.name.padEnd(20)} ${r.description}\n`);
      io.stdout.write(style.bold('Profiles') + '\n');
      if (!profiles.length) io.stdout.write('  (none)\n');
      for (const p of profiles) io.stdout.write(`  ${p.name.padEnd(20)} ${p.state ? `${p.state.recipe}: ${p.state.status} at ${p.state.finished}` : 'never ran'}\n`);
    });

  cli.command('tasks', 'List the tasks recipes can use')
    .action(async (o: Global) => {
      const { loadTasks } = await import('./core/engine.ts');
      const registry = await loadTasks(await engineOptions(o, new Events()));
      const list = registry.list();
      if (o.json) {
        io.stdout.write(JSON.stringify(list.map(({ task, source }) => ({ name: task.name, description: task.description, source, params: task.params }))) + '\n');
        return;
      }
      for (const { task, source } of list) {
        io.stdout.write(`${style.bold(task.name)}${source === 'built-in' ? '' : style.dim(` (${source})`)} — ${task.description}\n`);
        for (const [k, spec] of Object.entries(task.params)) {
          io.stdout.write(`    ${k}: ${spec.type}${spec.default !== undefined ? ` = ${JSON.stringify(spec.default)}` : ' (required)'}${spec.description ? style.dim(`  ${spec.description}`) : ''}\n`);
        }
      }
    });

  cli.command('graph <recipe>', 'Show a recipe\'s step graph')
    .option('--set <key=value>', 'Set a recipe parameter (repeatable)')
    .option('--format <format>', 'text, dot or mermaid', { default: 'text' })
    .action(async (recipe: string, o: Global & { set?: unknown; format: string }) => {
      if (!['text', 'dot', 'mermaid'].includes(o.format)) throw new UserError('USAGE', `--format ${o.format}: use text, dot or mermaid`);
      const { load } = await import('./core/engine.ts');
      const { renderGraph } = await import('./core/render/graph.ts');
      const { graph } = await load(await engineOptions(o, new Events()), recipe, sets(o.set));
      io.stdout.write(renderGraph(graph, o.format as 'text'));
    });

  cli.command('doctor', 'Check what this machine can host (runs the read-only check-virt task)')
    .option('--driver <driver>', 'Also fail unless this driver can run here')
    .action(async (o: Global & { driver?: string }) => {
      exitCode = await doRun({ ...o, yes: true }, (engine, opts) => engine.run(opts, 'doctor', o.driver ? { driver: o.driver } : {}, async () => {}));
    });

  // start and delete are shipped recipes (drivers/*.ts name them) with the flags as parameters.
  type StartOptions = Global & import('./drivers/driver.ts').StartFlags & { driver?: string; dryRun?: boolean; format: string; out?: string };
  cli.command('start', 'Start a Kubernetes cluster: plan, confirm, then run exactly that plan')
    .option('--driver <driver>', 'none (alias native) or ssh (alias generic); default: the profile\'s, else picked like minikube')
    .option('--container-runtime <runtime>', 'containerd, docker (with cri-dockerd) or cri-o')
    .option('--kubernetes-version <version>', 'e.g. v1.31.4')
    .option('--extra-config <component.key=value>', 'A component setting, e.g. kubelet.max-pods=50 (repeatable)')
    .option('--apiserver-port <port>', 'The API server\'s port (default 8443)')
    .option('--binary-mirror <url>', 'Where kubelet, kubeadm and kubectl are downloaded from (default https://dl.k8s.io/release)')
    .option('--cri-tools-mirror <url>', 'Where crictl is downloaded from (default: the cri-tools GitHub releases)')
    .option('--ssh-ip-address <address>', 'ssh driver: the machine\'s address')
    .option('--ssh-user <user>', 'ssh driver: the user (default root)')
    .option('--ssh-key <file>', 'ssh driver: the private key (default: ssh-agent, ~/.ssh/id_ed25519, id_rsa)')
    .option('--ssh-port <port>', 'ssh driver: the port (default 22)')
    .option('--dry-run', 'Only plan: print every command and change (same as kubestrap plan)')
    .option('--format <format>', 'With --dry-run: text, json or sh', { default: 'text' })
    .option('--out <file>', 'With --dry-run: also save the plan as JSON, for kubestrap apply')
    .action(async (o: StartOptions) => {
      const { selectStart } = await import('./drivers/select.ts');
      const { kubestrapHome } = await import('./core/profile.ts');
      const extraConfig = o.extraConfig === undefined ? undefined : ([] as unknown[]).concat(o.extraConfig).map(String);
      const pick = await selectStart({ ...o, ...(extraConfig ? { extraConfig } : {}) }, kubestrapHome(io.env), String(o.profile));
      if (!o.json && o.format === 'text') io.stderr.write(`kubestrap: the ${pick.driver.name} driver (${pick.why}), recipe ${pick.recipe}\n`);
      if (o.dryRun) { exitCode = await doPlan(pick.recipe, o, pick.params); return; }
      exitCode = await doRun(o, (engine, opts) => engine.run(opts, pick.recipe, pick.params, confirmFor(o)));
    });

  cli.command('delete', 'Tear a cluster down, listing every path it erases first')
    .option('--driver <driver>', 'For a profile kubestrap has no record of: the driver it used')
    .option('--dry-run', 'Only plan (same as kubestrap plan)')
    .option('--format <format>', 'With --dry-run: text, json or sh', { default: 'text' })
    .option('--out <file>', 'With --dry-run: also save the plan as JSON, for kubestrap apply')
    .action(async (o: Global & { driver?: string; dryRun?: boolean; format: string; out?: string }) => {
      const { selectDelete } = await import('./drivers/select.ts');
      const { kubestrapHome } = await import('./core/profile.ts');
      const pick = selectDelete(o, kubestrapHome(io.env), String(o.profile));
      if (o.dryRun) { exitCode = await doPlan(pick.recipe, o, pick.params); return; }
      exitCode = await doRun(o, (engine, opts) => engine.run(opts, pick.recipe, pick.params, confirmFor(o)));
    });

  cli.command('status', 'Show what last ran on a profile')
    .action(async (o: Global) => {
      const { readState, kubestrapHome, checkProfileName } = await import('./core/profile.ts');
      const profile = checkProfileName(String(o.profile));
      const state = readState(kubestrapHome(io.env), profile);
      if (!state) throw new UserError('PROFILE_UNKNOWN', `profile '${profile}' has not run anything`, { fix: 'see kubestrap list' });
      if (o.json) { io.stdout.write(JSON.stringify(state) + '\n'); return; }
      io.stdout.write(`${style.bold(profile)}: recipe ${state.recipe}, ${state.status} at ${state.finished}\n`);
      for (const s of state.steps) io.stdout.write(`  ${s.status.padEnd(11)} ${s.id}${s.host === 'local' ? '' : ` on ${s.host}`}${s.error ? ` — ${s.error}` : ''}\n`);
      exitCode = state.status === 'ok' ? 0 : 1;
    });

  cli.help();
  cli.version(VERSION);

  async function doPlan(recipe: string, o: Global & { set?: unknown; format: string; out?: string }, overrides: Record<string, unknown> = sets(o.set)): Promise<number> {
    if (!['text', 'json', 'sh'].includes(o.format)) throw new UserError('USAGE', `--format ${o.format}: use text, json or sh`);
    const engine = await import('./core/engine.ts');
    const events = new Events();
    renderers = await import('./core/render/events.ts');
    const off = o.json ? events.on(renderers.jsonRenderer(io.stdout)) : () => {};
    const { plan, exitCode } = await engine.plan(await engineOptions(o, events), recipe, overrides);
    off();
    if (o.out) writeAtomic(resolve(io.cwd, o.out), JSON.stringify(plan, null, 2) + '\n');
    if (o.json) io.stdout.write(JSON.stringify({ type: 'plan', plan }) + '\n');
    else if (o.format === 'json') io.stdout.write(JSON.stringify(plan, null, 2) + '\n');
    else if (o.format === 'sh') io.stdout.write((await import('./core/render/plan-sh.ts')).renderPlanSh(plan));
    else io.stdout.write((await import('./core/render/plan-text.ts')).renderPlanText(plan, style));
    return exitCode;
  }

  async function doRun(
    o: Global, call: (engine: typeof import('./core/engine.ts'), opts: EngineOptions) => Promise<{ exitCode: number; plan: PlanDocument; result?: unknown }>,
  ): Promise<number> {
    const engine = await import('./core/engine.ts');
    renderers = await import('./core/render/events.ts');
    const events = new Events();
    const opts = await engineOptions(o, events);
    const stop = renderEvents(o, events);
    try {
      const outcome = await call(engine, opts);
      if (!outcome.result && !o.json) {
        // The plan itself failed (a probe or a parameter): show it, nothing ran.
        io.stdout.write((await import('./core/render/plan-text.ts')).renderPlanText(outcome.plan, style));
      }
      return outcome.exitCode;
    } finally {
      stop();
    }
  }

  try {
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
    return exitCode;
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

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
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

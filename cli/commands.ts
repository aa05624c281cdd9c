// One function per command: its flags, and one call into the engine or the drivers.
import type { CAC } from 'cac';
import { join, resolve } from 'node:path';
import { UserError } from '../core/errors.ts';
import { drivers } from '../drivers/index.ts';
import { clusterOptions } from '../options/cluster.ts';
import { type AnyOption, helpLine } from '../options/option.ts';
import type { App, Global, PlanFlags } from './app.ts';
import { terminalText } from '../core/render/escape.ts';

type DryRun = PlanFlags & { dryRun?: boolean };
type Register = (cli: CAC, app: App) => void;

const set = '--set <key=value>';
const setHelp = 'Set a recipe parameter (repeatable)';

function runCommand(cli: CAC, app: App): void {
  cli.command('run <recipe>', 'Plan a recipe, confirm, then run exactly that plan')
    .option(set, setHelp)
    .option('--dry-run', 'Only plan (same as kubestrap plan)')
    .option('--format <format>', 'With --dry-run: text, json or sh', { default: 'text' })
    .option('--out <file>', 'With --dry-run: also save the plan as JSON')
    .action(async (recipe: string, o: DryRun) => {
      if (o.dryRun) {
        app.exitCode = await app.plan(recipe, o);
        return;
      }
      app.exitCode = await app.run(o, (engine, opts) => engine.run(opts, recipe, app.sets(o.set), app.confirmFor(o)));
    });
}

function planCommand(cli: CAC, app: App): void {
  cli.command('plan <recipe>', 'Show every command and system change a recipe would make')
    .option(set, setHelp)
    .option('--format <format>', 'text, json or sh', { default: 'text' })
    .option('--out <file>', 'Also save the plan as JSON, for kubestrap apply')
    .option('--detailed-exitcode', 'Exit 0 when nothing would change, 2 when something would, 1 on an error')
    .action(async (recipe: string, o: PlanFlags) => {
      app.exitCode = await app.plan(recipe, o);
    });
}

function applyCommand(cli: CAC, app: App): void {
  cli.command('apply <plan>', 'Run exactly a saved plan; refuse if the machine drifted since')
    .option(set, 'Only for the secret parameters the plan hides: give their values again')
    .action(async (file: string, o: Global & { set?: unknown }) => {
      // The plan fixes the profile, the steps and the parameters: options that would change them are refused.
      const given = (flags: string[]) => app.io.argv.some((a) => flags.some((f) => a === f || a.startsWith(`${f}=`)));
      for (const what of ['--only', '--allow-recipe-probes']) {
        if (given([what])) {
          throw new UserError('USAGE', `apply runs the saved plan as it was made: ${what} does not apply to it`, {
            fix: `make a new plan with ${what} and apply that`,
          });
        }
      }
      const profile = given(['-p', '--profile']) ? String(o.profile) : undefined;
      app.exitCode = await app.run(o, (engine, opts) => engine.apply(opts, resolve(app.io.cwd, file), app.confirmFor(o), app.sets(o.set), profile));
    });
}

function listCommand(cli: CAC, app: App): void {
  cli.command('list', 'List shipped recipes and profiles')
    .action(async (o: Global) => {
      const { listRecipes, loadRecipe } = await import('../core/recipe.ts');
      const { listProfiles, kubestrapHome, readState } = await import('../core/profile.ts');
      const { io, style } = app;
      const recipes = listRecipes([join(app.root, 'recipes')]).map((r) => ({ name: r.name, description: loadRecipe(r.file).description }));
      const home = kubestrapHome(io.env);
      const profiles = listProfiles(home).map((p) => ({ name: p, state: readState(home, p) }));
      if (o.json) {
        io.stdout.write(
          JSON.stringify({ recipes, profiles: profiles.map((p) => ({ name: p.name, recipe: p.state?.recipe, status: p.state?.status })) }) + '\n',
        );
        return;
      }
      io.stdout.write(style.bold('Recipes') + '\n');
      for (const r of recipes) io.stdout.write(`  ${terminalText(r.name.padEnd(20))} ${terminalText(r.description)}\n`);
      io.stdout.write(style.bold('Profiles') + '\n');
      if (!profiles.length) io.stdout.write('  (none)\n');
      const { nodeStates } = await import('../drivers/container.ts');
      for (const p of profiles) {
        io.stdout.write(`  ${p.name.padEnd(20)} ${p.state ? terminalText(`${p.state.recipe}: ${p.state.status} at ${p.state.finished}`) : 'never ran'}\n`);
        // Container profiles: their nodes as the engine sees them now.
        for (const n of p.state ? await nodeStates(p.name, p.state.recipe, p.state.params) : []) io.stdout.write(`    ${terminalText(n)}\n`);
      }
    });
}

function imageCommand(cli: CAC, app: App): void {
  cli.command('image [action] [image]', 'image load IMAGE: put an image from the local Docker/Podman into every node of the profile')
    .option('--dry-run', 'Only plan')
    .option('--format <format>', 'With --dry-run: text, json or sh', { default: 'text' })
    .action(async (action: string | undefined, image: string | undefined, o: DryRun) => {
      if (action !== 'load' || !image) {
        throw new UserError('USAGE', 'usage: kubestrap image load IMAGE [-p PROFILE]', { fix: 'e.g. kubestrap image load my-app:dev -p demo' });
      }
      const { imageLoadParams } = await import('../drivers/container.ts');
      const { kubestrapHome } = await import('../core/profile.ts');
      const params = imageLoadParams(kubestrapHome(app.io.env), String(o.profile), image);
      if (o.dryRun) {
        app.exitCode = await app.plan('image-load', o, params);
        return;
      }
      app.exitCode = await app.run(o, (engine, opts) => engine.run(opts, 'image-load', params, app.confirmFor(o)));
    });
}

function tasksCommand(cli: CAC, app: App): void {
  cli.command('tasks', 'List the tasks recipes can use')
    .action(async (o: Global) => {
      const { loadTasks } = await import('../core/engine.ts');
      const { io, style } = app;
      const list = (await loadTasks(await app.engineOptions(o, app.events()))).list();
      if (o.json) {
        io.stdout.write(
          JSON.stringify(list.map(({ task, source }) => ({ name: task.name, description: task.description, source, params: task.params }))) + '\n',
        );
        return;
      }
      for (const { task, source } of list) {
        io.stdout.write(
          `${style.bold(task.name)}${source === 'built-in' ? '' : style.dim(` (${terminalText(source)})`)} — ${terminalText(task.description)}\n`,
        );
        for (const [k, spec] of Object.entries(task.params)) {
          const dflt = spec.default !== undefined ? ` = ${JSON.stringify(spec.default)}` : ' (required)';
          io.stdout.write(`    ${terminalText(`${k}: ${spec.type}${dflt}`)}${spec.description ? style.dim(`  ${terminalText(spec.description)}`) : ''}\n`);
        }
      }
    });
}

function graphCommand(cli: CAC, app: App): void {
  cli.command('graph <recipe>', "Show a recipe's step graph")
    .option(set, setHelp)
    .option('--format <format>', 'text, dot or mermaid', { default: 'text' })
    .action(async (recipe: string, o: Global & { set?: unknown; format: string }) => {
      if (!['text', 'dot', 'mermaid'].includes(o.format)) throw new UserError('USAGE', `--format ${o.format}: use text, dot or mermaid`);
      const { load } = await import('../core/engine.ts');
      const { renderGraph } = await import('../core/render/graph.ts');
      const { graph } = await load(await app.engineOptions(o, app.events()), recipe, app.sets(o.set));
      app.io.stdout.write(renderGraph(graph, o.format as 'text'));
    });
}

function doctorCommand(cli: CAC, app: App): void {
  cli.command('doctor', "Check what this machine can host: every driver's status, then the read-only check-virt task")
    .option('--driver <driver>', 'Also fail unless this driver can run here')
    .action(async (o: Global & { driver?: string }) => {
      const { driverStates } = await import('../drivers/index.ts');
      const states = await driverStates();
      if (o.json) app.io.stdout.write(JSON.stringify({ type: 'drivers', drivers: states.map((s) => ({ name: s.driver.name, ...s.status })) }) + '\n');
      else app.io.stdout.write(renderDriverStates(states, app) + '\n');
      app.exitCode = await app.run({ ...o, yes: true }, (engine, opts) => engine.run(opts, 'doctor', o.driver ? { driver: o.driver } : {}, async () => {}));
    });
}

function renderDriverStates(states: Awaited<ReturnType<typeof import('../drivers/index.ts').driverStates>>, app: App): string {
  const { style } = app;
  const lines = [style.bold('Drivers')];
  for (const { driver, status } of states) {
    const mark = status.installed && status.healthy ? style.green('✓') : style.red('✗');
    const what = status.installed && status.healthy ? 'ready' : status.installed ? 'installed, not healthy' : 'not installed';
    lines.push(`  ${mark} ${driver.name.padEnd(10)} ${what}${status.reason ? ` — ${status.reason}` : ''}${status.fix ? style.dim(` (${status.fix})`) : ''}`);
  }
  return lines.join('\n');
}

/** The flags of every option `start` knows: the cluster's, then each driver's own (named in the help). */
function optionFlags(): { option: AnyOption; help: string }[] {
  const out = new Map<string, { option: AnyOption; help: string }>();
  for (const o of clusterOptions) if (o.flag) out.set(o.flag, { option: o, help: helpLine(o) });
  for (const d of drivers) {
    for (const o of d.options) {
      if (!o.flag) continue;
      const seen = out.get(o.flag);
      // Drivers may share a flag (--cpus): the help names every driver that takes it.
      if (seen) {
        seen.help = seen.help.replace(/^([a-z0-9, ]+) driver(s?): /, (_, names: string) => `${names}, ${d.name} drivers: `);
        continue;
      }
      const line = helpLine(o);
      out.set(o.flag, { option: o, help: `${d.name} driver: ${line.charAt(0).toLowerCase()}${line.slice(1)}` });
    }
  }
  return [...out.values()];
}

function driverHelp(): string {
  return drivers.map((d) => (d.aliases.length ? `${d.name} (alias ${d.aliases.join(', ')})` : d.name)).join(', ');
}

function startCommand(cli: CAC, app: App): void {
  const command = cli.command('start', 'Start a Kubernetes cluster: plan, confirm, then run exactly that plan')
    .option('--driver <driver>', `${driverHelp()}; default: the profile's, else picked like minikube`);
  for (const { option, help } of optionFlags()) {
    command.option(option.type === 'boolean' ? `--${option.flag}` : `--${option.flag} <${option.arg ?? 'value'}>`, help);
  }
  command
    .option('--dry-run', 'Only plan: print every command and change (same as kubestrap plan)')
    .option('--format <format>', 'With --dry-run: text, json or sh', { default: 'text' })
    .option('--out <file>', 'With --dry-run: also save the plan as JSON, for kubestrap apply')
    .action(async (o: DryRun & { driver?: string } & Record<string, unknown>) => {
      // start and delete are shipped recipes (drivers/*.ts name them) with the flags as parameters.
      const { selectStart } = await import('../drivers/select.ts');
      const { kubestrapHome } = await import('../core/profile.ts');
      // stable/latest are resolved once, here, and the plan names the exact version.
      if (o.kubernetesVersion !== undefined) {
        const { resolveKubernetesVersion } = await import('../tasks/k8s/versions.ts');
        const { DEFAULT_BINARY_MIRROR } = await import('../options/cluster.ts');
        o.kubernetesVersion = await resolveKubernetesVersion(String(o.kubernetesVersion), String(o.binaryMirror ?? DEFAULT_BINARY_MIRROR), fetchText);
      }
      const pick = await selectStart(o, kubestrapHome(app.io.env), String(o.profile));
      if (!o.json && o.format === 'text') {
        app.io.stderr.write(`kubestrap: ${terminalText(`the ${pick.driver.name} driver (${pick.why}), recipe ${pick.recipe}`)}\n`);
      }
      if (o.dryRun) {
        app.exitCode = await app.plan(pick.recipe, o, pick.params);
        return;
      }
      app.exitCode = await app.run(o, (engine, opts) => engine.run(opts, pick.recipe, pick.params, app.confirmFor(o)));
    });
}

function deleteCommand(cli: CAC, app: App): void {
  cli.command('delete', 'Tear a cluster down, listing every path it erases first')
    .option('--driver <driver>', 'For a profile kubestrap has no record of: the driver it used')
    .option('--dry-run', 'Only plan (same as kubestrap plan)')
    .option('--format <format>', 'With --dry-run: text, json or sh', { default: 'text' })
    .option('--out <file>', 'With --dry-run: also save the plan as JSON, for kubestrap apply')
    .action(async (o: DryRun & { driver?: string }) => {
      const { selectDelete } = await import('../drivers/select.ts');
      const { kubestrapHome } = await import('../core/profile.ts');
      const pick = selectDelete(o, kubestrapHome(app.io.env), String(o.profile));
      if (o.dryRun) {
        app.exitCode = await app.plan(pick.recipe, o, pick.params);
        return;
      }
      app.exitCode = await app.run(o, (engine, opts) => engine.run(opts, pick.recipe, pick.params, app.confirmFor(o)));
    });
}

function statusCommand(cli: CAC, app: App): void {
  cli.command('status', 'Show what last ran on a profile')
    .action(async (o: Global) => {
      const { readState, kubestrapHome, checkProfileName } = await import('../core/profile.ts');
      const { io, style } = app;
      const profile = checkProfileName(String(o.profile));
      const state = readState(kubestrapHome(io.env), profile);
      if (!state) throw new UserError('PROFILE_UNKNOWN', `profile '${profile}' has not run anything`, { fix: 'see kubestrap list' });
      if (o.json) {
        io.stdout.write(JSON.stringify(state) + '\n');
        return;
      }
      io.stdout.write(`${style.bold(profile)}: ${terminalText(`recipe ${state.recipe}, ${state.status} at ${state.finished}`)}\n`);
      for (const s of state.steps) {
        io.stdout.write(`  ${terminalText(`${s.status.padEnd(11)} ${s.id}${s.host === 'local' ? '' : ` on ${s.host}`}${s.error ? ` — ${s.error}` : ''}`)}\n`);
      }
      app.exitCode = state.status === 'ok' ? 0 : 1;
    });
}

export const commands: readonly Register[] = [
  runCommand,
  planCommand,
  applyCommand,
  listCommand,
  tasksCommand,
  graphCommand,
  doctorCommand,
  startCommand,
  deleteCommand,
  imageCommand,
  statusCommand,
];

/** A small published text (dl.k8s.io's stable.txt), with a timeout. */
async function fetchText(url: string): Promise<string> {
  const r = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return r.text();
}

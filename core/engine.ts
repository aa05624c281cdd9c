// What each command asks of the engine: load a recipe into a graph, plan it, run it, apply a plan.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { needsRoot } from './effect-kinds.ts';
import { RefusedError, UserError } from './errors.ts';
import { Events } from './events.ts';
import { buildGraph, type Graph } from './graph.ts';
import type { Host } from './hosts/host.ts';
import type { EarlyStart } from './hosts/local.ts';
import { HostPool } from './hosts/pool.ts';
import { buildPlan, driftBetween, type PlanDocument, verifyPlan } from './plan.ts';
import { checkProfileName, kubestrapHome, lockProfile, profileDir, saveState } from './profile.ts';
import { findRecipe, loadRecipe, type OptionSets } from './recipe.ts';
import { TaskRegistry } from './registry.ts';
import { type PlannedStep, runExitCode, schedule, type ScheduleResult } from './scheduler.ts';
import type { Task } from './task.ts';
import { download, downloadCached } from './download.ts';
import { FactMemo } from './fact-memo.ts';
import { literal } from './template.ts';

export interface EngineOptions {
  env: Record<string, string | undefined>;
  cwd: string;
  recipeDirs: readonly string[];
  builtinTasks: readonly Task[];
  /** --tasks FILE|DIR */
  taskFiles: readonly string[];
  profile: string;
  concurrency: number;
  events: Events;
  signal: AbortSignal;
  /** Parameter groups recipes take with `options: [NAME]` (the application's command-line options). */
  optionSets?: OptionSets;
  /** --only STEP: run these steps and what they need. */
  only?: readonly string[];
  /** --allow-recipe-probes: a plan also runs the read-only commands a recipe supplied (run-command's unless). */
  allowRecipeProbes?: boolean;
  /** Tests inject the local host (e.g. one with fixed facts for golden plans). */
  localHost?: Host;
  /** …and other hosts by key (ssh:user@address:port, docker:name). */
  hosts?: ReadonlyMap<string, Host>;
  /** What the launcher started on this machine before the engine loaded (core/hosts/local.ts). */
  earlyStart?: EarlyStart;
}

export interface Loaded {
  graph: Graph;
  file: string;
}

export async function loadTasks(opts: EngineOptions): Promise<TaskRegistry> {
  const registry = new TaskRegistry();
  for (const t of opts.builtinTasks) registry.add(t, 'built-in');
  for (const f of opts.taskFiles) await registry.load(resolve(opts.cwd, f)); // absolute paths stay as they are
  return registry;
}

export async function load(opts: EngineOptions, recipeRef: string, overrides: Record<string, unknown>): Promise<Loaded> {
  checkProfileName(opts.profile);
  const registry = await loadTasks(opts);
  const file = findRecipe(recipeRef, opts.recipeDirs, opts.cwd);
  let graph: Graph;
  try {
    graph = await buildGraph({
      file,
      overrides,
      profile: opts.profile,
      env: opts.env,
      registry,
      recipeDirs: opts.recipeDirs,
      recipeCache: join(kubestrapHome(opts.env), 'cache', 'recipes'),
      ...(opts.only ? { only: opts.only } : {}),
      ...(opts.optionSets ? { optionSets: opts.optionSets } : {}),
    });
  } catch (e) {
    // An error about a secret parameter's value must not show it either.
    try {
      const r = loadRecipe(file);
      for (const [k, v] of Object.entries(overrides)) if (r.params[k]?.secret) opts.events.secrets.add(k, v);
    } catch { /* the error below says why */ }
    if (e instanceof Error) e.message = opts.events.secrets.redact(e.message);
    throw e;
  }
  for (const [k, p] of Object.entries(graph.recipe.params)) if (p.secret) opts.events.secrets.add(k, graph.params[k]);
  return { graph, file };
}

function scheduleOptions(opts: EngineOptions, graph: Graph, pool: HostPool, mode: 'plan' | 'run', events: Events, planned?: Map<string, PlannedStep>) {
  const home = kubestrapHome(opts.env);
  return {
    graph,
    mode,
    profile: opts.profile,
    concurrency: opts.concurrency,
    events,
    signal: opts.signal,
    pool,
    cacheDir: join(home, 'cache', 'downloads'),
    factMemo: new FactMemo(join(home, 'cache', 'facts.json')),
    backupRoot: async (host: Host) =>
      host.name === 'local' ? join(profileDir(home, opts.profile), 'backups') : `${(await host.facts()).home}/.kubestrap/backups/${opts.profile}`,
    ...(planned ? { planned } : {}),
    ...(opts.allowRecipeProbes ? { allowRecipeProbes: true } : {}),
    download,
    downloadCached,
  };
}

function newPool(opts: EngineOptions): HostPool {
  return new HostPool({
    knownHostsFile: join(kubestrapHome(opts.env), 'known_hosts'),
    env: opts.env,
    ...(opts.localHost ? { local: opts.localHost } : {}),
    ...(opts.hosts ? { injected: opts.hosts } : {}),
    ...(opts.earlyStart ? { early: opts.earlyStart } : {}),
  });
}

/** Plans a loaded graph: every probe runs, nothing changes. */
export async function planGraph(
  opts: EngineOptions,
  loaded: Loaded,
  pool: HostPool,
  events = new Events(opts.events.secrets),
): Promise<{ plan: PlanDocument; result: ScheduleResult }> {
  const result = await schedule(scheduleOptions(opts, loaded.graph, pool, 'plan', events));
  const plan = buildPlan({
    recipe: loaded.graph.recipe.name,
    recipeFile: loaded.file,
    profile: opts.profile,
    params: opts.events.secrets.redactDeep(literal(loaded.graph.params)),
    ...(opts.only ? { only: opts.only } : {}),
    ...(opts.allowRecipeProbes ? { recipeProbes: true } : {}),
    hosts: await pool.describe(),
    result,
  });
  return { plan, result };
}

export async function plan(opts: EngineOptions, recipeRef: string, overrides: Record<string, unknown>): Promise<{ plan: PlanDocument; exitCode: number }> {
  const loaded = await load(opts, recipeRef, overrides);
  const pool = newPool(opts);
  try {
    const { plan, result } = await planGraph(opts, loaded, pool, opts.events);
    return { plan, exitCode: runExitCode(result) };
  } finally {
    await pool.closeAll();
  }
}

export function privileged(plan: PlanDocument): number {
  return plan.steps.reduce((n, s) => n + s.effects.filter(needsRoot).length, 0);
}

export interface RunOutcome {
  plan: PlanDocument;
  result?: ScheduleResult;
  exitCode: number;
}

/**
 * Plans, lets the caller confirm, then runs exactly that plan. With `audited`, the fresh plan must
 * match it first (apply); either way every effect the run makes must be one the plan listed.
 */
export async function run(
  opts: EngineOptions,
  recipeRef: string,
  overrides: Record<string, unknown>,
  confirm: (plan: PlanDocument) => Promise<void>,
  audited?: PlanDocument,
): Promise<RunOutcome> {
  const loaded = await load(opts, recipeRef, overrides);
  const home = kubestrapHome(opts.env);
  const unlock = lockProfile(home, opts.profile, audited ? `apply ${loaded.graph.recipe.name}` : `run ${loaded.graph.recipe.name}`);
  const pool = newPool(opts);
  try {
    const { plan: fresh, result: planned } = await planGraph(opts, loaded, pool);
    const planExit = runExitCode(planned);
    if (planExit !== 0) return { plan: fresh, exitCode: planExit };
    if (audited) {
      const drift = driftBetween(audited, fresh);
      if (drift) {
        throw new RefusedError('PLAN_DRIFTED', `the plan no longer matches this machine: ${drift}`, {
          fix: 'review a new plan (kubestrap plan … --out FILE) and apply that',
        });
      }
    }
    const plan = audited ?? fresh;
    const blocked = plan.steps.flatMap((st) => (st.notes ?? []).filter((n) => n.blocks).map((n) => ({ step: st.id, note: n })));
    if (blocked.length) {
      const { step, note } = blocked[0]!;
      throw new RefusedError(
        'PLAN_BLOCKED',
        `step '${step}' cannot run here: ${note.message}${blocked.length > 1 ? ` (and ${blocked.length - 1} more: see the plan)` : ''}`,
        note.fix ? { fix: note.fix } : {},
      );
    }
    await confirm(plan);
    const expected = new Map(plan.steps.map((s) => [s.id, { status: s.status as 'change' | 'ok', effects: s.effects }]));
    const result = await schedule(scheduleOptions(opts, loaded.graph, pool, 'run', opts.events, expected));
    saveState(
      home,
      opts.events.secrets.redactDeep({
        profile: opts.profile,
        recipe: loaded.graph.recipe.name,
        recipeFile: loaded.file,
        params: literal(loaded.graph.params),
        status: result.status,
        finished: new Date().toISOString(),
        steps: result.steps.map((s) => ({
          id: s.id,
          task: s.task,
          host: s.host,
          status: s.status,
          ...(s.error ? { error: s.error instanceof Error ? s.error.message : String(s.error) } : {}),
          ...(s.outputs ? { outputs: s.outputs } : {}),
        })),
      }),
    );
    return { plan, result, exitCode: runExitCode(result) };
  } finally {
    await pool.closeAll();
    unlock();
  }
}

export function readPlanFile(file: string): PlanDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError('PLAN_NOT_FOUND', `cannot read plan ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`, {
      fix: 'give the file written by kubestrap plan --out',
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UserError('PLAN_INVALID', `${file} is not JSON: ${(e as Error).message}`);
  }
  return verifyPlan(doc, file);
}

/**
 * Applies a saved plan: same recipe, parameters and profile, refusing if anything drifted. The plan
 * hides secret parameters, so their values are given again (`secrets`, from --set).
 */
export async function apply(
  opts: EngineOptions,
  file: string,
  confirm: (plan: PlanDocument) => Promise<void>,
  secrets: Record<string, string> = {},
  profile?: string,
): Promise<RunOutcome> {
  const audited = readPlanFile(file);
  if (profile !== undefined && profile !== audited.profile) {
    throw new UserError('USAGE', `${file} was made for profile '${audited.profile}': -p ${profile} does not apply to it`, {
      fix: `make a new plan with -p ${profile} and apply that`,
    });
  }
  const { only: _ignored, ...rest } = opts;
  const params: Record<string, unknown> = { ...audited.params };
  const hidden = Object.entries(audited.params).filter(([, v]) => JSON.stringify(v).includes('<secret:'));
  for (const k of Object.keys(secrets)) {
    if (!hidden.some(([h]) => h === k)) {
      throw new UserError(
        'USAGE',
        `apply takes --set only for the secret parameters the plan hides${
          hidden.length ? ` (${hidden.map(([h]) => h).join(', ')})` : ' (it hides none)'
        }, not '${k}'`,
        { fix: 'the other parameters are part of the audited plan: make a new plan to change them' },
      );
    }
  }
  for (const [k, v] of hidden) {
    if (v !== `<secret:${k}>`) {
      throw new RefusedError('PLAN_SECRET', `parameter '${k}' of the plan contains a secret value`, {
        fix: `mark '${k}' secret: true in the recipe, or apply with kubestrap run`,
      });
    }
    if (secrets[k] === undefined) {
      throw new UserError('SECRET_NEEDED', `the plan hides the secret parameter '${k}'`, { fix: `give it again: kubestrap apply ${file} --set ${k}=…` });
    }
    params[k] = secrets[k];
  }
  return run(
    { ...rest, profile: audited.profile, ...(audited.only ? { only: audited.only } : {}), allowRecipeProbes: audited.recipeProbes === true },
    audited.recipeFile,
    params,
    confirm,
    audited,
  );
}

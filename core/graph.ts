// A recipe becomes a validated graph before anything runs: includes expanded, tasks and
// parameters checked, needs resolved, cycles reported whole, steps in a stable topological order.
import { dirname } from 'node:path';
import { didYouMean, UserError, type Where } from './errors.ts';
import { findRecipe, type HostSpec, loadRecipe, type OptionSets, type Recipe, type RecipeStep } from './recipe.ts';
import type { TaskRegistry } from './registry.ts';
import { coerceParam, type Task } from './task.ts';
import { evaluate, hasTemplate, referencedSteps, type Scope, stepRef, TemplateError } from './template.ts';
import type { YamlPath } from './yaml-source.ts';
import { hasPlaceholder } from './placeholder.ts';

export interface GraphStep {
  /** Full id: an included recipe's steps are prefixed with the including step's id and a dot. */
  id: string;
  task: Task;
  /** Parameters; strings may still hold ${{ steps.… }} references, resolved when the step runs. */
  with: Record<string, unknown>;
  needs: string[];
  /** 'local' or a host name defined by the step's recipe (or a recipe including it). */
  host: string;
  hostSpec?: HostSpec;
  /**
   * Steps that create the host (its recipe's `createdBy:`, and steps whose outputs make its
   * address): until they ran, the host does not exist and is planned as a fresh machine.
   */
  hostCreatedBy?: string[];
  where(path?: YamlPath, key?: boolean): Where;
}

export interface Graph {
  recipe: Recipe;
  params: Record<string, unknown>;
  steps: GraphStep[];
}

export interface GraphOptions {
  file: string;
  /** Strings from --set are converted to each parameter's type; other values are taken as they are. */
  overrides: Record<string, unknown>;
  profile: string;
  env: Record<string, string | undefined>;
  registry: TaskRegistry;
  recipeDirs: readonly string[];
  /** Keep only these steps and the steps they need (like make targets). */
  only?: readonly string[];
  /** Where parsed recipes are cached by content hash. */
  recipeCache?: string;
  /** Parameter groups recipes take with `options: [NAME]`. */
  optionSets?: OptionSets;
}

export async function buildGraph(opts: GraphOptions): Promise<Graph> {
  const recipe = loadWithOptions(opts.file, opts);
  const params = recipeParams(recipe, opts.overrides, true, { profile: opts.profile, env: opts.env });
  const steps: GraphStep[] = [];
  await expand(recipe, params, '', [], [], opts, steps, [opts.file]);
  checkRefs(steps);
  return { recipe, params, steps: order(opts.only?.length ? onlyTargets(steps, opts.only, recipe) : steps) };
}

/** A recipe with the parameters of the option sets it names added to its own. */
function loadWithOptions(file: string, opts: GraphOptions): Recipe {
  const recipe = loadRecipe(file, opts.recipeCache);
  if (!recipe.options.length) return recipe;
  const params = { ...recipe.params };
  recipe.options.forEach((name, i) => {
    const set = opts.optionSets?.[name];
    if (!set) {
      throw new UserError('RECIPE_INVALID', `unknown option set '${name}'`, {
        where: recipe.where(['options', i]),
        fix: didYouMean(name, Object.keys(opts.optionSets ?? {})) ?? `option sets: ${Object.keys(opts.optionSets ?? {}).join(', ') || 'none'}`,
      });
    }
    for (const [k, p] of Object.entries(set)) {
      if (k in recipe.params) {
        throw new UserError('RECIPE_INVALID', `parameter '${k}' is also an option of '${name}'`, {
          where: recipe.where(['params', k], true),
          fix: 'remove it from params:',
        });
      }
      params[k] = p;
    }
  });
  return { ...recipe, params };
}

/** The named steps and everything they need; an include's id selects all of its steps. */
function onlyTargets(steps: GraphStep[], targets: readonly string[], recipe: Recipe): GraphStep[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const keep = new Set<string>();
  const add = (id: string) => {
    if (keep.has(id)) return;
    keep.add(id);
    for (const n of byId.get(id)!.needs) add(n);
  };
  for (const t of targets) {
    const matches = steps.filter((s) => s.id === t || s.id.startsWith(t + '.'));
    if (!matches.length) {
      throw new UserError('STEP_UNKNOWN', `--only ${t}: no such step in recipe '${recipe.name}'`, {
        fix: didYouMean(t, byId.keys()) ?? 'see kubestrap graph RECIPE',
      });
    }
    matches.forEach((s) => add(s.id));
  }
  return steps.filter((s) => keep.has(s.id));
}

/** The recipe's parameters: defaults, then overrides (strings from --set or values from an include). */
export function recipeParams(
  recipe: Recipe,
  overrides: Record<string, unknown>,
  fromCli: boolean,
  base: { profile: string; env: Record<string, string | undefined> },
): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const defaultsScope: Scope = {
    params: {},
    ...base,
    step: () => {
      throw new TemplateError('a parameter default cannot use step outputs');
    },
  };
  for (const [k, p] of Object.entries(recipe.params)) {
    try {
      params[k] = evaluate(p.default, defaultsScope);
    } catch (e) {
      if (e instanceof TemplateError) throw new UserError('TEMPLATE_INVALID', `parameter '${k}': ${e.message}`, { where: recipe.where(['params', k]) });
      throw e;
    }
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (!Object.hasOwn(recipe.params, k)) {
      const names = Object.keys(recipe.params);
      throw new UserError('PARAM_UNKNOWN', `recipe '${recipe.name}' has no parameter '${k}'`, {
        where: fromCli ? { file: recipe.file } : undefined,
        fix: didYouMean(k, names) ?? (names.length ? `its parameters: ${names.join(', ')}` : 'it takes no parameters'),
      });
    }
    if (fromCli && typeof v === 'string' && v.includes('${{')) {
      throw new UserError('PARAM_INVALID', `--set ${k}: values may not contain \${{ … }}`, { fix: 'pass the literal value' });
    }
    // Only the engine makes placeholders: a value shaped like one would skip checks meant for real values.
    if (fromCli && typeof v === 'string' && (hasPlaceholder(v) || v.includes('<secret:'))) {
      throw new UserError('PARAM_INVALID', `--set ${k}: values may not contain <output of …> or <secret:…>`, { fix: 'pass the literal value' });
    }
    const spec = recipe.params[k]!;
    const type = spec.type ?? typeOf(spec.default);
    const value = fromCli && typeof v === 'string' && type ? coerceCli(recipe, k, type, v) : v;
    params[k] = spec.parse && !hasTemplate(value) ? parseParam(recipe, k, spec.parse, value, fromCli) : value;
  }
  return params;
}

function typeOf(v: unknown): 'string' | 'number' | 'boolean' | 'string[]' | undefined {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (Array.isArray(v)) return 'string[]';
  if (typeof v === 'string') return 'string';
  return undefined;
}

function coerceCli(recipe: Recipe, key: string, type: 'string' | 'number' | 'boolean' | 'string[]', value: string): unknown {
  try {
    return coerceParam(recipe.name, key, { type }, value);
  } catch (e) {
    throw new UserError(
      'PARAM_INVALID',
      `--set ${key}=${value}: ${type === 'number' ? 'must be a number' : type === 'boolean' ? 'must be true or false' : (e as Error).message}`,
      { where: recipe.where(['params', key]) },
    );
  }
}

/** An option's own parser: its reason is kept, the message says which parameter. */
function parseParam(recipe: Recipe, key: string, parse: (v: unknown) => unknown, value: unknown, fromCli: boolean): unknown {
  try {
    return parse(value);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new UserError(e.reason, `${fromCli ? '--set ' : ''}${key}: ${e.message}`, {
      ...(fromCli ? { where: { file: recipe.file } } : {}),
      ...(e.fix ? { fix: e.fix } : {}),
    });
  }
}

async function expand(
  recipe: Recipe,
  params: Record<string, unknown>,
  prefix: string,
  entryNeeds: string[],
  parentHosts: HostSpecScope[],
  opts: GraphOptions,
  out: GraphStep[],
  stack: string[],
): Promise<{ ids: string[]; sinks: string[] }> {
  for (const file of recipe.imports) await opts.registry.load(file, () => recipe.where(['imports']));
  const localIds = new Set(recipe.steps.map((s) => s.id));
  // Replacement needs: an included step stands for its sinks; a skipped step for its own needs.
  const standsFor = new Map<string, string[]>();
  const q = (id: string) => prefix + id;
  const scope: Scope = {
    params,
    profile: opts.profile,
    env: opts.env,
    // Data comes in protected (template.ts): a raw reference is one an including recipe made.
    stepParams: new Set(Object.keys(params).filter((k) => hasTemplate(params[k]))),
    step: (id, key) => {
      if (!localIds.has(id)) throw new TemplateError(`\${{ steps.${id}.outputs.${key} }}: no step '${id}' in this recipe${hint(didYouMean(id, localIds))}`);
      return stepRef(q(id), key);
    },
  };
  // A host is evaluated with the parameters of the recipe that defines it, not of the one using it.
  // createdBy names a step of the defining recipe: an include stands for its last steps.
  const created = (id: string) => standsFor.get(id) ?? [q(id)];
  const hosts: HostSpecScope[] = [{ hosts: recipe.hosts, recipe, scope, created }, ...parentHosts];
  const at = (step: RecipeStep, path: YamlPath, key = false) => step.where(path, key);
  const ev = (step: RecipeStep, path: YamlPath, value: unknown) => {
    try {
      return evaluate(value, scope);
    } catch (e) {
      if (e instanceof TemplateError) throw new UserError('TEMPLATE_INVALID', e.message, { where: at(step, path) });
      throw e;
    }
  };

  const resolveNeeds = (step: RecipeStep): string[] => {
    const result: string[] = [];
    step.needs.forEach((n, i) => {
      if (!localIds.has(n)) {
        throw new UserError('NEEDS_UNKNOWN', `step '${step.id}' needs '${n}', which is not a step of this recipe`, {
          where: at(step, ['needs', i]),
          fix: didYouMean(n, localIds) ?? `steps here: ${[...localIds].join(', ')}`,
        });
      }
      if (n === step.id) throw new UserError('GRAPH_CYCLE', `step '${step.id}' needs itself`, { where: at(step, ['needs']) });
      result.push(...(standsFor.get(n) ?? [q(n)]));
    });
    return result.length || step.needs.length ? unique(result) : entryNeeds;
  };

  // Steps are visited in needs order so that an include's sinks are known before its dependents.
  const byId = new Map(recipe.steps.map((s) => [s.id, s]));
  const visiting: string[] = [];
  const visited = new Set<string>();
  const ids: string[] = [];
  const visit = async (step: RecipeStep): Promise<void> => {
    if (visited.has(step.id)) return;
    const loop = visiting.indexOf(step.id);
    if (loop >= 0) {
      const cycle = [...visiting.slice(loop), step.id].join(' → ');
      throw new UserError('GRAPH_CYCLE', `steps form a cycle: ${cycle}`, {
        where: at(byId.get(visiting[loop]!)!, ['needs']),
        fix: 'remove one of these needs',
      });
    }
    visiting.push(step.id);
    for (const n of step.needs) {
      const dep = byId.get(n);
      if (dep && dep !== step) await visit(dep);
    }
    visiting.pop();
    visited.add(step.id);
    const needs = resolveNeeds(step);

    if (step.when !== undefined) {
      if (referencedSteps(step.when).length) {
        throw new UserError('TEMPLATE_INVALID', `step '${step.id}': when: can use params, profile and env only`, { where: at(step, ['when']) });
      }
      const cond = ev(step, ['when'], step.when);
      if (hasTemplate(cond)) {
        throw new UserError('TEMPLATE_INVALID', `step '${step.id}': when: uses a parameter that holds a step's output, known only in the run`, {
          where: at(step, ['when']),
        });
      }
      if (!truthy(cond)) {
        standsFor.set(step.id, needs);
        return;
      }
    }

    if (step.recipe !== undefined) {
      const ref = ev(step, ['recipe'], step.recipe);
      if (typeof ref !== 'string' || !ref) {
        throw new UserError('RECIPE_INVALID', `step '${step.id}': recipe must name a recipe`, { where: at(step, ['recipe']) });
      }
      let file: string;
      try {
        file = findRecipe(ref, opts.recipeDirs, dirname(recipe.file));
      } catch (e) {
        if (e instanceof UserError) throw new UserError(e.reason, `step '${step.id}': ${e.message}`, { where: at(step, ['recipe']), fix: e.fix });
        throw e;
      }
      if (stack.includes(file)) {
        throw new UserError('RECIPE_CYCLE', `recipe includes form a cycle: ${[...stack, file].map(shortName).join(' → ')}`, { where: at(step, ['recipe']) });
      }
      const sub = loadWithOptions(file, opts);
      const withValues = ev(step, ['with'], step.with) as Record<string, unknown>;
      for (const name of step.forward ?? []) {
        if (!recipe.options.includes(name)) {
          throw new UserError('RECIPE_INVALID', `step '${step.id}': forward: ${name}, but this recipe does not take the '${name}' options`, {
            where: at(step, ['forward']),
            fix: `add options: [${name}] to the recipe`,
          });
        }
        for (const k of Object.keys(opts.optionSets![name]!)) if (k in sub.params && !(k in withValues)) withValues[k] = params[k];
      }
      let subParams: Record<string, unknown>;
      try {
        subParams = recipeParams(sub, withValues, false, { profile: opts.profile, env: opts.env });
      } catch (e) {
        if (e instanceof UserError) throw new UserError(e.reason, `step '${step.id}': ${e.message}`, { where: at(step, ['with']), fix: e.fix });
        throw e;
      }
      const inner = await expand(sub, subParams, q(step.id) + '.', needs, hosts, opts, out, [...stack, file]);
      standsFor.set(step.id, inner.sinks);
      ids.push(...inner.ids);
      return;
    }

    const task = opts.registry.get(step.task!, () => at(step, ['task']));
    const values = ev(step, ['with'], step.with) as Record<string, unknown>;
    checkParams(task, values, step);
    const hostName = step.host === undefined ? 'local' : ev(step, ['host'], step.host);
    if (typeof hostName !== 'string') throw new UserError('HOST_INVALID', `step '${step.id}': host must be a name`, { where: at(step, ['host']) });
    let hostSpec: HostSpec | undefined;
    let owner: HostSpecScope | undefined;
    if (hostName !== 'local') {
      owner = hosts.find((h) => hostName in h.hosts);
      if (!owner) {
        throw new UserError('HOST_UNKNOWN', `step '${step.id}': unknown host '${hostName}'`, { where: at(step, ['host']), fix: 'define it under hosts:' });
      }
      hostSpec = evaluateHost(owner, hostName);
    }
    const createdBy = hostSpec ? unique([...(hostSpec.createdBy ? owner!.created(hostSpec.createdBy) : []), ...referencedSteps(hostSpec)]) : [];
    out.push({
      id: q(step.id),
      task,
      with: values,
      needs,
      host: hostName,
      ...(hostSpec ? { hostSpec } : {}),
      ...(createdBy.length ? { hostCreatedBy: createdBy } : {}),
      where: step.where,
    });
    ids.push(q(step.id));
  };
  for (const step of recipe.steps) await visit(step);

  const needed = new Set(out.filter((s) => ids.includes(s.id)).flatMap((s) => s.needs));
  return { ids, sinks: ids.filter((id) => !needed.has(id)) };
}

interface HostSpecScope {
  hosts: Record<string, HostSpec>;
  recipe: Recipe;
  scope: Scope;
  created(id: string): string[];
}

function evaluateHost(owner: HostSpecScope, name: string): HostSpec {
  try {
    return evaluate(owner.hosts[name], owner.scope) as HostSpec;
  } catch (e) {
    if (e instanceof TemplateError) throw new UserError('TEMPLATE_INVALID', e.message, { where: owner.recipe.where(['hosts', name]) });
    throw e;
  }
}

function checkParams(task: Task, values: Record<string, unknown>, step: RecipeStep): void {
  for (const key of Object.keys(values)) {
    if (!Object.hasOwn(task.params, key)) {
      const names = Object.keys(task.params);
      throw new UserError('PARAM_UNKNOWN', `step '${step.id}': task '${task.name}' has no parameter '${key}'`, {
        where: step.where(['with', key], true),
        fix: didYouMean(key, names) ?? (names.length ? `its parameters: ${names.join(', ')}` : 'it takes no parameters'),
      });
    }
  }
  for (const [key, spec] of Object.entries(task.params)) {
    const v = values[key];
    if (v === undefined || v === null) {
      if (spec.default === undefined) {
        throw new UserError('PARAM_MISSING', `step '${step.id}': task '${task.name}' needs parameter '${key}'`, {
          where: step.where(['with']),
          fix: `add ${key}: … under with:`,
        });
      }
      continue;
    }
    if (hasTemplate(v)) continue; // checked when the step runs and the output is known
    try {
      values[key] = coerceParam(task.name, key, spec, v);
    } catch (e) {
      // A parser shared with the command line keeps its reason: one check, one reason ID.
      const reason = e instanceof UserError ? e.reason : 'PARAM_INVALID';
      throw new UserError(reason, `step '${step.id}': ${(e as Error).message}`, {
        where: step.where(['with', key]),
        ...(e instanceof UserError && e.fix ? { fix: e.fix } : {}),
      });
    }
  }
}

function checkRefs(steps: GraphStep[]): void {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const ancestors = (id: string, seen = new Set<string>()): Set<string> => {
    for (const n of byId.get(id)?.needs ?? []) {
      if (!seen.has(n)) {
        seen.add(n);
        ancestors(n, seen);
      }
    }
    return seen;
  };
  for (const s of steps) {
    for (const c of s.hostCreatedBy ?? []) {
      if (byId.has(c) && !ancestors(s.id).has(c)) {
        throw new UserError('NEEDS_MISSING', `step '${s.id}' runs on host '${s.host}', which step '${c}' creates, but does not need it`, {
          where: s.where(['needs']),
          fix: `add ${c.split('.').pop()} to its needs`,
        });
      }
    }
    const refs = [...referencedSteps(s.with), ...referencedSteps(s.hostSpec ?? {})];
    if (!refs.length) continue;
    const before = ancestors(s.id);
    for (const r of refs) {
      if (!byId.has(r)) {
        throw new UserError('TEMPLATE_INVALID', `step '${s.id}' uses outputs of '${r}', which is not a task step`, { where: s.where(['with']) });
      }
      if (!before.has(r)) {
        throw new UserError('NEEDS_MISSING', `step '${s.id}' uses outputs of '${r}' but does not need it`, {
          where: s.where(['with']),
          fix: `add ${r.split('.').pop()} to its needs`,
        });
      }
    }
  }
}

/** Kahn's algorithm, taking ready steps in recipe order so plans are deterministic. */
function order(steps: GraphStep[]): GraphStep[] {
  const indeg = new Map(steps.map((s) => [s.id, s.needs.length]));
  const dependents = new Map<string, string[]>();
  for (const s of steps) for (const n of s.needs) dependents.set(n, [...(dependents.get(n) ?? []), s.id]);
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const ready = steps.filter((s) => s.needs.length === 0).map((s) => s.id);
  const out: GraphStep[] = [];
  const byId = new Map(steps.map((s) => [s.id, s]));
  while (ready.length) {
    ready.sort((a, b) => index.get(a)! - index.get(b)!);
    const id = ready.shift()!;
    out.push(byId.get(id)!);
    for (const d of dependents.get(id) ?? []) {
      indeg.set(d, indeg.get(d)! - 1);
      if (indeg.get(d) === 0) ready.push(d);
    }
  }
  return out;
}

function truthy(v: unknown): boolean {
  if (typeof v === 'string') return v !== '' && v !== 'false' && v !== '0';
  return !!v;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function hint(s: string | undefined): string {
  return s ? ` (${s})` : '';
}

function shortName(file: string): string {
  return file.split('/').pop()!;
}

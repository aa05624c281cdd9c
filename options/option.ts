// One cluster option = one entry: minikube's flag, the recipe parameter it becomes, its type,
// default and help, and the one function that parses it. The command line, its help, recipe
// parameters (`options: [NAME]` in a recipe) and task parameters are all made from entries.
import { UserError } from '../core/errors.ts';
import type { RecipeParam, RecipeParamType } from '../core/recipe.ts';
import type { ParamSpec } from '../core/task.ts';

export interface Option<T = unknown, Ty extends RecipeParamType = RecipeParamType> {
  /** minikube's flag without the dashes (kubernetes-version); none for a recipe-only setting. */
  flag?: string;
  /** The recipe parameter (kubernetesVersion). */
  key: string;
  type: Ty;
  /** As the recipe parameter holds it; written here and nowhere else. */
  default: unknown;
  help: string;
  /** The value's name in --help (--kubernetes-version <version>). */
  arg?: string;
  /** Checks a value (a UserError with a stable reason when it is wrong) and returns it typed. */
  parse(value: unknown): T;
  /** The typed value as the recipe parameter holds it (plain JSON); default: the value itself. */
  toParam?(value: T): unknown;
}

/** Any option, whatever its value type (for lists of options). */
export type AnyOption = Option<unknown>;

export function defineOption<T, Ty extends RecipeParamType>(o: Option<T, Ty>): Option<T, Ty> {
  return o;
}

/** A value as the recipe parameter holds it: parsed, then made plain again. */
export function paramValue<T>(o: Option<T, RecipeParamType>, value: unknown): unknown {
  const typed = o.parse(value);
  return o.toParam ? o.toParam(typed) : typed;
}

/** The recipe parameters of a list of options (an option set). */
export function optionSet(options: readonly AnyOption[]): Record<string, RecipeParam> {
  return Object.fromEntries(options.map((o) => [o.key, { default: o.default, description: o.help, type: o.type, parse: (v: unknown) => paramValue(o, v) }]));
}

/**
 * A task parameter checked by an option's parser, so a task and the command line refuse a bad
 * value with the same message and reason: `kubernetesVersion: taskParam(kubernetesVersion)`.
 */
export function taskParam<Ty extends RecipeParamType>(
  o: Option<unknown, Ty>,
  withDefault = false,
): { type: Ty; description: string; parse(v: unknown): unknown; default?: unknown } {
  const spec: ParamSpec = { type: o.type, description: o.help, parse: (v: unknown) => paramValue(o, v), ...(withDefault ? { default: o.default } : {}) };
  return spec as ReturnType<typeof taskParam<Ty>>;
}

/** cac's name for a flag's value: kubernetes-version → kubernetesVersion. */
export function flagKey(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Recipe parameters from the flags given (as cac parsed them); flags not given are left out. */
export function flagsToParams(options: readonly AnyOption[], flags: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of options) {
    if (!o.flag) continue;
    let v = flags[flagKey(o.flag)];
    if (v === undefined) continue;
    // A repeatable flag comes as one value or a list.
    if (o.type === 'string[]') v = ([] as unknown[]).concat(v).map(String);
    try {
      out[o.key] = paramValue(o, v);
    } catch (e) {
      if (!(e instanceof UserError) || e.message.startsWith(`--${o.flag}`)) throw e;
      throw new UserError(e.reason, `--${o.flag}: ${e.message}`, e.fix ? { fix: e.fix } : {});
    }
  }
  return out;
}

/** The --help line of an option: its help and, when it has one, its default. */
export function helpLine(o: AnyOption): string {
  const shown = Array.isArray(o.default) ? (o.default.length ? o.default.join(',') : '') : String(o.default);
  return shown === '' ? o.help : `${o.help} (default ${shown})`;
}

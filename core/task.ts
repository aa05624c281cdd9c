// The task contract: a name, typed parameters with defaults, an optional check and a run.
import type { TaskContext } from './context.ts';
import type { FactProbe } from './facts.ts';
import { didYouMean, UserError } from './errors.ts';
import { hasPlaceholder, isPlaceholder } from './placeholder.ts';

export type ParamType = 'string' | 'number' | 'boolean' | 'string[]' | 'object';

export interface ParamSpec {
  type: ParamType;
  default?: unknown;
  description?: string;
  /** Allowed values for a string. */
  enum?: readonly string[];
  /** A string must match this (whole value). */
  pattern?: string;
  /** Never show the value in a plan. */
  secret?: boolean;
  /**
   * A parser shared with the command line (options/): checks the value, throwing a UserError with
   * its own reason, and returns it normalised. Values still holding a placeholder are not parsed.
   */
  parse?(value: unknown): unknown;
}

type ValueOf<S extends ParamSpec> = S['type'] extends 'string' ? S extends { enum: readonly (infer E)[] } ? E : string
  : S['type'] extends 'number' ? number
  : S['type'] extends 'boolean' ? boolean
  : S['type'] extends 'string[]' ? string[]
  : Record<string, unknown>;

export type ParamSpecs = Record<string, ParamSpec>;
export type Params<S extends ParamSpecs> = { [K in keyof S]: ValueOf<S[K]> };
export type Outputs = Record<string, unknown>;

export interface TaskDefinition<S extends ParamSpecs = ParamSpecs> {
  name: string;
  description: string;
  params?: S;
  /** Already done? Then the step is `ok` and run is skipped. Reads only. */
  check?(ctx: TaskContext, params: Params<S>): boolean | Promise<boolean>;
  run(ctx: TaskContext, params: Params<S>): void | Outputs | Promise<void | Outputs>;
  /** When check says done, the outputs run would have given (reads only). */
  outputs?(ctx: TaskContext, params: Params<S>): Outputs | Promise<Outputs>;
  /** The facts check and run read through ctx.fact: gathered with the host's others, in one script. */
  facts?(params: Params<S>): readonly FactProbe[];
  /** Outputs that hold a secret (a token): from the moment run returns them they show as `<secret:STEP.NAME>`. */
  secretOutputs?: readonly string[];
}

export const TASK_BRAND = Symbol.for('kubestrap.task');

export interface Task<S extends ParamSpecs = ParamSpecs> extends TaskDefinition<S> {
  readonly [TASK_BRAND]: true;
  readonly params: S;
}

const NAME = /^[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*$/;
const TYPES: readonly ParamType[] = ['string', 'number', 'boolean', 'string[]', 'object'];

// A task without parameters: `{}` is the empty parameter set here, as the inferred type of `params: {}`.
// deno-lint-ignore ban-types
export function defineTask<const S extends ParamSpecs = {}>(def: TaskDefinition<S>): Task<S> {
  if (!def || typeof def !== 'object') throw new UserError('TASK_INVALID', 'defineTask needs an object with name, description and run');
  if (typeof def.name !== 'string' || !NAME.test(def.name)) {
    throw new UserError('TASK_INVALID', `task name ${JSON.stringify(def.name)} is not valid`, { fix: 'use lower-case words joined by dashes, e.g. put-motd' });
  }
  if (typeof def.run !== 'function') throw new UserError('TASK_INVALID', `task '${def.name}' has no run function`);
  if (def.check !== undefined && typeof def.check !== 'function') throw new UserError('TASK_INVALID', `task '${def.name}': check must be a function`);
  if (def.facts !== undefined && typeof def.facts !== 'function') throw new UserError('TASK_INVALID', `task '${def.name}': facts must be a function`);
  const params = (def.params ?? {}) as S;
  for (const [key, spec] of Object.entries(params)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(key)) throw new UserError('TASK_INVALID', `task '${def.name}': parameter name '${key}' is not valid`);
    if (!spec || !TYPES.includes(spec.type)) {
      throw new UserError('TASK_INVALID', `task '${def.name}': parameter '${key}' needs a type`, { fix: `one of ${TYPES.join(', ')}` });
    }
    if (spec.default !== undefined) coerceParam(def.name, key, spec, spec.default);
  }
  return Object.freeze({ ...def, params, [TASK_BRAND]: true as const });
}

export function isTask(value: unknown): value is Task {
  return !!value && typeof value === 'object' && (value as Record<symbol, unknown>)[TASK_BRAND] === true;
}

/**
 * Checks and converts one value; strings from --set become numbers, booleans and lists. Only while
 * planning a step that uses an earlier step's output (`placeholders`) may a value be a placeholder
 * that skips its pattern: a value the user typed never is one.
 */
export function coerceParam(task: string, key: string, spec: ParamSpec, value: unknown, placeholders = false): unknown {
  const typed = coerceType(task, key, spec, value, placeholders);
  return spec.parse && !hasPlaceholder(typed) ? spec.parse(typed) : typed;
}

function coerceType(task: string, key: string, spec: ParamSpec, value: unknown, placeholders: boolean): unknown {
  const bad = (what: string) => new UserError('PARAM_INVALID', `parameter '${key}' of task '${task}' ${what}`);
  switch (spec.type) {
    case 'string': {
      if (typeof value === 'number' || typeof value === 'boolean') value = String(value);
      if (typeof value !== 'string') throw bad(`must be a string, got ${describe(value)}`);
      if (spec.enum && !spec.enum.includes(value)) {
        throw bad(`must be one of ${spec.enum.join(', ')}, got '${value}'${suffix(didYouMean(value, spec.enum))}`);
      }
      if (spec.pattern && !new RegExp(`^(?:${spec.pattern})$`).test(value) && !(placeholders && isPlaceholder(value))) {
        throw bad(`must match ${spec.pattern}, got ${JSON.stringify(value)}`);
      }
      return value;
    }
    case 'number': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(`must be a number, got ${describe(value)}`);
      return n;
    }
    case 'boolean': {
      if (value === 'true') return true;
      if (value === 'false') return false;
      if (typeof value !== 'boolean') throw bad(`must be true or false, got ${describe(value)}`);
      return value;
    }
    case 'string[]': {
      const list = typeof value === 'string' ? (value === '' ? [] : value.split(',')) : value;
      if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
        throw bad(`must be a list of strings, got ${describe(value)}`);
      }
      return list.map(String);
    }
    case 'object': {
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw bad(`must be a mapping, got ${describe(value)}`);
      return value;
    }
  }
}

function suffix(s: string | undefined): string {
  return s ? ` — ${s}` : '';
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  return `${typeof value} ${String(value)}`;
}

/** Fills defaults, rejects unknown and missing parameters. */
export function resolveParams(task: Task, given: Record<string, unknown>, placeholders = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(task.params, key)) {
      const hint = didYouMean(key, Object.keys(task.params));
      throw new UserError('PARAM_UNKNOWN', `task '${task.name}' has no parameter '${key}'`, {
        fix: hint ?? (Object.keys(task.params).length ? `its parameters: ${Object.keys(task.params).join(', ')}` : 'it takes no parameters'),
      });
    }
  }
  for (const [key, spec] of Object.entries(task.params)) {
    if (Object.hasOwn(given, key) && given[key] !== undefined) out[key] = coerceParam(task.name, key, spec, given[key], placeholders);
    else if (spec.default !== undefined) out[key] = coerceParam(task.name, key, spec, spec.default);
    else throw new UserError('PARAM_MISSING', `task '${task.name}' needs parameter '${key}'`, { fix: `add it under with: in the step` });
  }
  return out;
}

// ${{ … }} expressions in recipes: params.NAME, profile, env.NAME, steps.ID.outputs.KEY.
const EXPR = /\$\{\{\s*([^}]*?)\s*\}\}/g;
const WHOLE = /^\$\{\{\s*([^}]*?)\s*\}\}$/;
/** steps.ID.outputs.KEY, where ID may hold dots: an included step's id is prefixed with its include's id. */
const STEP_REF = /^steps\.([^\s]+?)\.outputs\.([A-Za-z0-9_-]+)$/;

export interface Scope {
  params: Record<string, unknown>;
  profile: string;
  env: Record<string, string | undefined>;
  /**
   * What steps.ID.outputs.KEY becomes. While a recipe loads, references stay templates (renamed
   * to the step's full id); while steps run, they become the outputs of finished steps.
   */
  step(id: string, key: string): unknown;
  /** Parameters an including recipe set to an earlier step's output: they stay references, not data. */
  stepParams?: ReadonlySet<string>;
}

/** The step reference kept as a template, for evaluation once the step has run. */
export function stepRef(id: string, key: string): string {
  return `\${{ steps.${id}.outputs.${key} }}`;
}

/** Looks step references up in the outputs of finished steps. */
export function outputsLookup(outputs: Record<string, Record<string, unknown> | undefined>): Scope['step'] {
  return (id, key) => {
    const o = outputs[id];
    if (!o || !(key in o)) throw new TemplateError(`\${{ steps.${id}.outputs.${key} }}: step '${id}' gave no output '${key}'`);
    return o[key];
  };
}

export class TemplateError extends Error {}

/** Step ids a value refers to through steps.ID.outputs. */
export function referencedSteps(value: unknown): string[] {
  const out: string[] = [];
  walkStrings(value, (s) => {
    for (const m of s.matchAll(EXPR)) {
      const ref = STEP_REF.exec(m[1]!);
      if (ref) out.push(ref[1]!);
      else if (m[1]!.startsWith('steps.') && m[1]!.split('.')[1]) out.push(m[1]!.split('.')[1]!);
    }
  });
  return out;
}

export function hasTemplate(value: unknown): boolean {
  let found = false;
  walkStrings(value, (s) => {
    if (s.includes('${{')) found = true;
  });
  return found;
}

// A value put in by an expression is data: if it holds `${{` itself (an environment variable, a
// parameter), a later evaluation must not read it as an expression. It is kept as `$<ESC>{{` until
// the value reaches its task (`literal`).
const ESC = '\uE000';
const protect = (v: unknown): unknown => mapStrings(v, (s) => s.replaceAll('${{', `$${ESC}{{`));

/** The value as the task gets it: what expressions put in, literally. */
export function literal<T>(value: T): T {
  return mapStrings(value, (s) => s.replaceAll(`$${ESC}{{`, '${{')) as T;
}

function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return value.includes('{{') ? fn(value) : value;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  return value;
}

/** Replaces expressions; a string that is one whole expression keeps the value's type. */
export function evaluate(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return lookupData(whole[1]!, scope);
    return value.replace(EXPR, (_, expr: string) => {
      const v = lookupData(expr, scope);
      if (v !== null && typeof v === 'object') {
        throw new TemplateError(`\${{ ${expr} }} is a ${Array.isArray(v) ? 'list' : 'mapping'} and cannot be part of a string`);
      }
      return String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => evaluate(v, scope));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, scope)]));
  }
  return value;
}

/** A lookup whose result is data; a step reference kept as a template while loading stays one. */
function lookupData(expr: string, scope: Scope): unknown {
  const v = lookup(expr, scope);
  const [root, name] = expr.split('.');
  return root === 'steps' || (root === 'params' && scope.stepParams?.has(name!)) ? v : protect(v);
}

function lookup(expr: string, scope: Scope): unknown {
  const parts = expr.split('.');
  const [root, name, ...rest] = parts;
  switch (root) {
    case 'profile':
      if (parts.length !== 1) break;
      return scope.profile;
    case 'params':
      if (!name || rest.length) break;
      if (!(name in scope.params)) throw new TemplateError(`\${{ ${expr} }}: the recipe has no parameter '${name}'`);
      return scope.params[name];
    case 'env':
      if (!name || rest.length) break;
      return scope.env[name] ?? '';
    case 'steps': {
      const ref = STEP_REF.exec(expr);
      if (!ref) break;
      return scope.step(ref[1]!, ref[2]!);
    }
  }
  throw new TemplateError(`\${{ ${expr} }} is not an expression kubestrap knows (use params.NAME, profile, env.NAME or steps.ID.outputs.KEY)`);
}

function walkStrings(value: unknown, fn: (s: string) => void): void {
  if (typeof value === 'string') fn(value);
  else if (Array.isArray(value)) value.forEach((v) => walkStrings(v, fn));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => walkStrings(v, fn));
}

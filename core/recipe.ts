// Recipe files: YAML validated into steps, each value remembering where it came from.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { didYouMean, UserError, type Where } from './errors.ts';
import { type YamlPath, YamlSource } from './yaml-source.ts';

export type RecipeParamType = 'string' | 'number' | 'boolean' | 'string[]';

export interface RecipeParam {
  default: unknown;
  description?: string;
  type?: RecipeParamType;
  /** Checks and normalises a value given to the recipe (see ParamSpec.parse); from an option set. */
  parse?(value: unknown): unknown;
  /** Never shown: plans, events, state and errors say <secret:NAME>. */
  secret?: boolean;
}

/** Named groups of parameters the application supplies (e.g. a tool's command-line options). */
export type OptionSets = Readonly<Record<string, Readonly<Record<string, RecipeParam>>>>;

export interface HostSpec {
  ssh?: { address: unknown; port?: unknown; user?: unknown; key?: unknown; knownHosts?: unknown };
  docker?: { container: unknown; socket?: unknown; user?: unknown };
  /**
   * The step of the same recipe that creates this machine (a VM, a container): the plan never
   * connects to it before that step ran, and every step on the host must need that step.
   */
  createdBy?: string;
}

export interface RecipeStep {
  id: string;
  task?: string;
  recipe?: string;
  with: Record<string, unknown>;
  needs: string[];
  host?: string;
  when?: unknown;
  /** An include step: option sets whose values pass on to the included recipe as they are. */
  forward?: string[];
  /** Position of anything under this step, e.g. ['with', 'text']. */
  where(path?: YamlPath, key?: boolean): Where;
}

export interface Recipe {
  name: string;
  description: string;
  file: string;
  params: Record<string, RecipeParam>;
  /** Option sets whose parameters the recipe takes as well (`options: [cluster]`). */
  options: string[];
  imports: string[];
  hosts: Record<string, HostSpec>;
  steps: RecipeStep[];
  where(path: YamlPath, key?: boolean): Where;
}

const TOP_KEYS = ['name', 'description', 'params', 'options', 'imports', 'hosts', 'steps'];
const STEP_KEYS = ['id', 'task', 'recipe', 'with', 'needs', 'host', 'when', 'forward', 'description'];
const PARAM_KEYS = ['default', 'description', 'type', 'secret'];
const MAX_RECIPE = 4 * 1024 * 1024;
/** Names that would reach an object's prototype. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);
const ID = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;

/** cacheDir: where parsed recipes are kept by content hash (see YamlSource.parse). */
export function loadRecipe(file: string, cacheDir?: string): Recipe {
  let text: string;
  // A FIFO, a device or a huge file is not a recipe: say so instead of reading it forever.
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UserError('RECIPE_INVALID', `${file} is not a regular file`, { fix: 'give a recipe .yaml file' });
    if (st.size > MAX_RECIPE) {
      throw new UserError('RECIPE_INVALID', `${file} is ${st.size} bytes: too large for a recipe (at most ${MAX_RECIPE})`, { fix: 'give a recipe .yaml file' });
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
  }
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError('RECIPE_NOT_FOUND', `cannot read recipe ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      fix: 'check the path',
    });
  }
  return parseRecipe(file, text, cacheDir);
}

export function parseRecipe(file: string, text: string, cacheDir?: string): Recipe {
  const src = YamlSource.parse(file, text, cacheDir);
  const fail = (path: YamlPath, message: string, fix?: string, key = false): never => {
    throw new UserError('RECIPE_INVALID', message, { where: src.where(path, key), fix });
  };
  const doc = src.value;
  if (!isObject(doc)) return fail([], 'a recipe must be a YAML mapping with name and steps', 'start the file with name: and steps:');
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.includes(key)) fail([key], `unknown key '${key}' in recipe`, didYouMean(key, TOP_KEYS) ?? `recipes have ${TOP_KEYS.join(', ')}`, true);
  }
  if (typeof doc.name !== 'string' || !doc.name.trim()) fail(['name'], 'the recipe needs a name', 'add name: my-recipe');
  if (doc.description !== undefined && typeof doc.description !== 'string') fail(['description'], 'description must be a string');

  const params: Record<string, RecipeParam> = {};
  if (doc.params !== undefined && doc.params !== null) {
    if (!isObject(doc.params)) fail(['params'], 'params must be a mapping of name to { default: … }');
    for (const [name, spec] of Object.entries(doc.params as Record<string, unknown>)) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(name) || RESERVED.has(name)) {
        fail(['params', name], `parameter name '${name}' is not valid`, 'use letters, digits, _ and -, and not __proto__, constructor or prototype', true);
      }
      if (isObject(spec)) {
        for (const k of Object.keys(spec)) {
          if (!PARAM_KEYS.includes(k)) {
            fail(
              ['params', name, k],
              `unknown key '${k}' in parameter '${name}'`,
              didYouMean(k, PARAM_KEYS) ?? `a parameter has ${PARAM_KEYS.join(', ')}`,
              true,
            );
          }
        }
        if (!('default' in spec)) fail(['params', name], `parameter '${name}' needs a default`, 'add default: …');
        if (spec.type !== undefined && !['string', 'number', 'boolean', 'string[]'].includes(spec.type as string)) {
          fail(['params', name, 'type'], `parameter '${name}': type must be string, number, boolean or string[]`);
        }
        const d = spec.default;
        const fits = typeof d === 'string' && d.includes('${{')
          ? true
          : spec.type === 'number'
          ? typeof d === 'number' || (typeof d === 'string' && d.trim() !== '' && Number.isFinite(Number(d)))
          : spec.type === 'boolean'
          ? typeof d === 'boolean' || d === 'true' || d === 'false'
          : spec.type === 'string[]'
          ? Array.isArray(d) && d.every((x) => typeof x === 'string' || typeof x === 'number')
          : spec.type === 'string'
          ? typeof d === 'string' || typeof d === 'number'
          : true;
        if (!fits) {
          fail(
            ['params', name, 'default'],
            `parameter '${name}': its default ${JSON.stringify(d)} is not a ${spec.type}`,
            `give a default of type ${spec.type}`,
          );
        }
        params[name] = {
          default: spec.default,
          ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
          ...(spec.type ? { type: spec.type as RecipeParam['type'] } : {}),
          ...(spec.secret === true ? { secret: true } : {}),
        };
        if (spec.secret !== undefined && typeof spec.secret !== 'boolean') {
          fail(['params', name, 'secret'], `parameter '${name}': secret must be true or false`);
        }
      } else {
        params[name] = { default: spec };
      }
    }
  }

  const options = nameList(doc.options, (why) => fail(['options'], `options ${why}`, 'e.g. options: [cluster]'));

  const imports: string[] = [];
  if (doc.imports !== undefined) {
    if (!Array.isArray(doc.imports)) fail(['imports'], 'imports must be a list of task file paths', 'write imports: [./my-tasks/put-motd.ts]');
    (doc.imports as unknown[]).forEach((p, i) => {
      if (typeof p !== 'string' || !p) fail(['imports', i], 'each import must be a path to a task file');
      const abs = resolve(dirname(file), p as string);
      if (!existsSync(abs)) fail(['imports', i], `task file ${p} does not exist (looked at ${abs})`, 'paths are relative to the recipe file');
      imports.push(abs);
    });
  }

  const hosts: Record<string, HostSpec> = {};
  if (doc.hosts !== undefined) {
    if (!isObject(doc.hosts)) fail(['hosts'], 'hosts must be a mapping of name to { ssh: … } or { docker: … }');
    for (const [name, spec] of Object.entries(doc.hosts as Record<string, unknown>)) {
      if (name === 'local') fail(['hosts', name], "'local' is built in and cannot be redefined", undefined, true);
      const kinds = isObject(spec) ? Object.keys(spec).filter((k) => k !== 'createdBy') : [];
      if (!isObject(spec) || kinds.length !== 1 || !('ssh' in spec || 'docker' in spec)) {
        fail(['hosts', name], `host '${name}' must be { ssh: { address, user, key, port } } or { docker: { container } }, and may say createdBy: STEP`);
      }
      const s = spec as HostSpec;
      if (s.createdBy !== undefined && (typeof s.createdBy !== 'string' || !ID.test(s.createdBy))) {
        fail(['hosts', name, 'createdBy'], `host '${name}': createdBy must be a step id`);
      }
      if (s.ssh && (!isObject(s.ssh) || s.ssh.address === undefined)) fail(['hosts', name, 'ssh'], `ssh host '${name}' needs an address`);
      if (s.docker && (!isObject(s.docker) || s.docker.container === undefined)) fail(['hosts', name, 'docker'], `docker host '${name}' needs a container`);
      hosts[name] = s;
    }
  }

  if (!Array.isArray(doc.steps) || doc.steps.length === 0) fail(['steps'], 'the recipe needs a non-empty list of steps', 'add steps: - id: … task: …');
  const seen = new Map<string, number>();
  const steps: RecipeStep[] = (doc.steps as unknown[]).map((raw, i) => {
    const at = (...p: (string | number)[]) => ['steps', i, ...p];
    if (!isObject(raw)) return fail(at(), `step ${i + 1} must be a mapping with id and task`);
    for (const k of Object.keys(raw)) {
      if (!STEP_KEYS.includes(k)) fail(at(k), `unknown key '${k}' in step ${i + 1}`, didYouMean(k, STEP_KEYS) ?? `a step has ${STEP_KEYS.join(', ')}`, true);
    }
    if (typeof raw.id !== 'string' || !ID.test(raw.id)) fail(at('id'), `step ${i + 1} needs an id of letters, digits, - and _`, 'e.g. id: install-runtime');
    const id = raw.id as string;
    if (seen.has(id)) fail(at('id'), `step id '${id}' is used twice (first by step ${seen.get(id)! + 1})`, 'give each step its own id');
    seen.set(id, i);
    if ((raw.task === undefined) === (raw.recipe === undefined)) fail(at(), `step '${id}' needs exactly one of task: or recipe:`);
    if (raw.task !== undefined && (typeof raw.task !== 'string' || !raw.task)) fail(at('task'), `step '${id}': task must be a task name`);
    if (raw.recipe !== undefined && (typeof raw.recipe !== 'string' || !raw.recipe)) fail(at('recipe'), `step '${id}': recipe must be a recipe name or file`);
    if (raw.with !== undefined && raw.with !== null && !isObject(raw.with)) fail(at('with'), `step '${id}': with must be a mapping of parameter: value`);
    let needs: string[] = [];
    if (typeof raw.needs === 'string') needs = [raw.needs];
    else if (Array.isArray(raw.needs) && raw.needs.every((n) => typeof n === 'string')) needs = raw.needs as string[];
    else if (raw.needs !== undefined) fail(at('needs'), `step '${id}': needs must be a step id or a list of step ids`);
    const forward = raw.forward === undefined
      ? undefined
      : nameList(raw.forward, (why) => fail(at('forward'), `step '${id}': forward ${why}`, 'e.g. forward: [cluster]'));
    if (forward && raw.recipe === undefined) fail(at('forward'), `step '${id}': forward passes options to an included recipe, and this step has no recipe:`);
    if (raw.host !== undefined && typeof raw.host !== 'string') fail(at('host'), `step '${id}': host must be a host name`);
    if (raw.host !== undefined && raw.host !== 'local' && !(raw.host as string).includes('${{') && !(raw.host as string in hosts)) {
      fail(
        at('host'),
        `step '${id}': unknown host '${raw.host}'`,
        didYouMean(raw.host as string, ['local', ...Object.keys(hosts)]) ?? 'define it under hosts:',
      );
    }
    return {
      id,
      ...(raw.task !== undefined ? { task: raw.task as string } : {}),
      ...(raw.recipe !== undefined ? { recipe: raw.recipe as string } : {}),
      with: (raw.with ?? {}) as Record<string, unknown>,
      needs,
      ...(raw.host !== undefined ? { host: raw.host as string } : {}),
      ...(raw.when !== undefined ? { when: raw.when } : {}),
      ...(forward ? { forward } : {}),
      where: (p: YamlPath = [], key = false) => src.where(at(...p), key),
    };
  });

  for (const [name, h] of Object.entries(hosts)) {
    if (h.createdBy !== undefined && !seen.has(h.createdBy)) {
      fail(
        ['hosts', name, 'createdBy'],
        `host '${name}' is created by '${h.createdBy}', which is not a step of this recipe`,
        didYouMean(h.createdBy, seen.keys()) ?? 'name the step that creates the machine',
      );
    }
  }

  return {
    name: doc.name as string,
    description: (doc.description as string | undefined) ?? '',
    file,
    params,
    options,
    imports,
    hosts,
    steps,
    where: (p, key) => src.where(p, key),
  };
}

/** A recipe argument is a file path (has a slash or ends in .yaml/.yml) or a shipped recipe's name. */
export function findRecipe(ref: string, searchDirs: readonly string[], relativeTo: string): string {
  if (ref.includes('/') || /\.ya?ml$/.test(ref)) {
    const abs = resolve(relativeTo, ref);
    if (!existsSync(abs)) throw new UserError('RECIPE_NOT_FOUND', `recipe file ${ref} does not exist`, { fix: `looked at ${abs}` });
    return abs;
  }
  for (const dir of searchDirs) {
    for (const ext of ['.yaml', '.yml']) {
      const candidate = resolve(dir, ref + ext);
      if (existsSync(candidate)) return candidate;
    }
  }
  const known = listRecipes(searchDirs).map((r) => r.name);
  throw new UserError('RECIPE_NOT_FOUND', `no recipe named '${ref}'`, {
    fix: didYouMean(ref, known) ?? `known recipes: ${known.join(', ') || 'none'}; or give a path to a .yaml file`,
  });
}

export function listRecipes(searchDirs: readonly string[]): { name: string; file: string }[] {
  const out: { name: string; file: string }[] = [];
  for (const dir of searchDirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) if (/\.ya?ml$/.test(n)) out.push({ name: basename(n).replace(/\.ya?ml$/, ''), file: resolve(dir, n) });
  }
  return out;
}

/** A list of names (or one name); `fail` says what is wrong. */
function nameList(v: unknown, fail: (why: string) => never): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && /^[a-zA-Z][a-zA-Z0-9_-]*$/.test(x))) return fail('must be a name or a list of names');
  return list as string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

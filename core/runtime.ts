// Node/Deno differences live here and nowhere else.
//
// - Which module is the program: Node has only process.argv[1]; Deno names it in Deno.mainModule.
// - User task files (.ts): Node needs a module hook (registered once, below) that compiles them with
//   esbuild and resolves `import … from 'kubestrap'` to this copy of the API. Deno loads .ts natively
//   and resolves 'kubestrap' through the import map in kubestrap's deno.json, which Deno applies when
//   it runs kubestrap's own cli.ts (from any working directory). Limitation: started with another
//   config (--config, --import-map, --no-config), Deno cannot resolve 'kubestrap'; task files can
//   then import the API by path (…/kubestrap/index.ts), and the error says so.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { UserError } from './errors.ts';

declare const Deno: { version: { deno: string }; mainModule: string } | undefined;

export const isDeno = typeof Deno !== 'undefined';
/** True when this module runs from TypeScript source (tsx or Deno), false from the built JavaScript. */
export const fromSource = import.meta.url.endsWith('.ts');

let loader: Promise<void> | undefined;

/** The URL of kubestrap's public API module, for task files that `import … from 'kubestrap'`. */
export function apiUrl(): string {
  // Built, this module is part of a bundle chunk in dist/, beside dist/index.js.
  return new URL(fromSource ? '../index.ts' : './index.js', import.meta.url).href;
}

/**
 * import() under Node. The installed CLI is a bundle that bin/kubestrap.js compiles with node:vm (to
 * use V8's code cache), and such a script has no import() of its own: the bin lends its own as
 * globalThis.kubestrapImport. The bundle loads its dependencies with require() instead.
 */
function nodeImport(url: string): Promise<Record<string, unknown>> {
  const lent = (globalThis as { kubestrapImport?: (url: string) => Promise<Record<string, unknown>> }).kubestrapImport;
  return lent ? lent(url) : import(url);
}

/** Loads a user module. Under Node, task files are compiled as ES modules wherever they live. */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (!isDeno) {
    await (loader ??= installLoader());
    return nodeImport(pathToFileURL(file).href);
  }
  try {
    return await import(pathToFileURL(file).href);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/["']kubestrap["']/.test(message) && /not a dependency|import map|Relative import path/i.test(message)) {
      throw new UserError('TASK_IMPORT_UNRESOLVED', `Deno cannot resolve 'kubestrap' here (${message.split('\n')[0]})`, {
        fix: `run kubestrap's own cli.ts without --config/--import-map so its deno.json applies, or import the API by path: ${fileURLToPath(apiUrl())}`,
      });
    }
    throw e;
  }
}

/**
 * Node hooks for user task files: 'kubestrap' resolves to this copy of the API, and .ts files are
 * compiled by esbuild as ES modules (tsx would follow the nearest package.json and may pick CommonJS).
 */
async function installLoader(): Promise<void> {
  const { createRequire, register } = await import('node:module');
  // Through require: import.meta.resolve does not exist in the CommonJS bundle the installed CLI runs.
  const esbuild = pathToFileURL(createRequire(import.meta.url).resolve('esbuild')).href;
  const hook = `
    import { readFile } from 'node:fs/promises';
    import { fileURLToPath } from 'node:url';
    let esbuild;
    export async function resolve(specifier, context, next) {
      if (specifier === 'kubestrap') return { url: ${JSON.stringify(apiUrl())}, shortCircuit: true };
      return next(specifier, context);
    }
    export async function load(url, context, next) {
      if (!url.startsWith('file:') || !/\\.m?ts$/.test(url.split('?')[0])) return next(url, context);
      esbuild ??= await import(${JSON.stringify(esbuild)});
      const path = fileURLToPath(url);
      const source = await readFile(path, 'utf8');
      const out = await esbuild.transform(source, { loader: 'ts', format: 'esm', sourcefile: path, sourcemap: 'inline', target: 'node20' });
      return { format: 'module', source: out.code, shortCircuit: true };
    }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

/** True when the module at moduleUrl is the program being run (not imported). */
export function isMain(moduleUrl: string): boolean {
  if (isDeno) return Deno!.mainModule === moduleUrl;
  const script = process.argv[1];
  return !!script && resolve(script) === fileURLToPath(moduleUrl);
}

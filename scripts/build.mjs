// Builds the installed CLI: one CommonJS bundle, dist/kubestrap.cjs, that bin/kubestrap.js compiles
// through V8's code cache (a cold start then parses almost nothing), and dist/index.js, the API that
// task files import, which hands out that same bundle's exports so a task registers with the CLI
// that loaded it. Heavy dependencies stay outside the bundle and load only when a command needs them.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const external = ['zx', 'ssh2', 'dockerode', 'undici', 'esbuild', 'tsx'];

/** Builds the shipped CLI and API into outdir (a repository-relative or absolute path). */
export async function buildCli(outdir) {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: ['cli/shipped.ts'],
    outfile: `${outdir}/kubestrap.cjs`,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external,
    // A script compiled by node:vm has no import(): dependencies load with require() (core/runtime.ts
    // borrows the bin's import() for task files).
    supported: { 'dynamic-import': false },
    // Sources use import.meta.url to find the recipes and the API beside them: in the bundle it is the bundle's URL.
    define: { 'import.meta.url': '__kubestrapUrl' },
    banner: { js: "const __kubestrapUrl = require('node:url').pathToFileURL(__filename).href;" },
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    absWorkingDir: root,
  });
  // V8 keeps an ASCII source as a one-byte string, which bin/kubestrap.js reads and compiles faster
  // than a two-byte one. esbuild escapes everything else in code; a few comments it keeps as written.
  const cli = `${outdir}/kubestrap.cjs`;
  writeFileSync(cli, readFileSync(cli, 'utf8').replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  // The API's names, as index.ts exports them, re-exported from the bundle.
  const api = await build({
    entryPoints: ['index.ts'],
    bundle: true,
    format: 'esm',
    platform: 'node',
    external,
    write: false,
    metafile: true,
    outdir: 'api',
    absWorkingDir: root,
  });
  const names = Object.values(api.metafile.outputs).flatMap((o) => o.exports ?? []);
  writeFileSync(
    `${outdir}/index.js`,
    [
      "import { createRequire } from 'node:module';",
      "const api = createRequire(import.meta.url)('./kubestrap.cjs');",
      `export const { ${names.join(', ')} } = api;`,
      '',
    ].join('\n'),
  );
}

/** Bundles entry points as ES modules split into shared chunks (the benchmark's phase breakdown). */
export async function bundle(entryPoints, outdir) {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external,
    // Bundled CommonJS code (yaml) calls require() for Node built-ins.
    banner: { js: "import { createRequire as __ksRequire } from 'node:module'; const require = __ksRequire(import.meta.url);" },
    logLevel: 'warning',
    absWorkingDir: root,
  });
}

// node scripts/build.mjs [OUTDIR]: dist/ by default (npm run build); the tests build into a temporary copy.
if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCli(process.argv[2] ?? `${root}/dist`);

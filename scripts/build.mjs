// Builds the installed CLI: one bundle with code splitting, so `kubestrap` loads a handful of files
// instead of every core module, and never compiles TypeScript at run time. Heavy dependencies stay
// outside the bundle and load only when a command needs them.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Bundles entry points (paths relative to the repository) into outdir, as the shipped CLI is. */
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
    external: ['zx', 'ssh2', 'dockerode', 'undici', 'esbuild', 'tsx'],
    // Bundled CommonJS code (yaml) calls require() for Node built-ins.
    banner: { js: "import { createRequire as __ksRequire } from 'node:module'; const require = __ksRequire(import.meta.url);" },
    logLevel: 'warning',
    absWorkingDir: root,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle(['cli.ts', 'index.ts'], `${root}/dist`);

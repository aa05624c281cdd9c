#!/usr/bin/env node
// The installed command runs the built bundle (no TypeScript compile on each call), compiled through
// V8's code cache: parsing the bundle is most of a cold start, and with the cache kept from an
// earlier run of the same command V8 skips it, as well as compiling the functions that run used.
// CommonJS (bin/package.json says so), like the bundle: Node then starts no ES module loader
// before the command runs.
'use strict';
const { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

// The real path: dist/index.js requires the bundle by it, and must find this copy in require's cache.
const file = realpathSync(join(__dirname, '..', 'dist', 'kubestrap.cjs'));
const source = readFileSync(file, 'utf8');

// One cache per command (each runs different functions), for this bundle and this Node; the
// directory is the cache of KUBESTRAP_HOME as core/profile.ts finds it.
const dir = join(process.env.KUBESTRAP_HOME || join(homedir(), '.kubestrap'), 'cache', 'code');
const { size, mtimeMs } = statSync(file);
const key = `${process.version}-${process.arch}-${size}-${Math.trunc(mtimeMs)}`;
const command = /^[a-z][a-z-]*$/.test(process.argv[2] ?? '') ? process.argv[2] : 'default';
const cacheFile = join(dir, `${key}.${command}.bin`);
let cached;
try {
  cached = readFileSync(cacheFile);
} catch { /* none yet */ }

const script = new vm.Script(Module.wrap(source), {
  filename: file,
  ...(cached ? { cachedData: cached } : {}),
});
// Task files are ES modules: the bundle has no import() (see nodeImport in core/runtime.ts), so it borrows this one.
globalThis.kubestrapImport = (url) => import(url);
const bundle = new Module(file, undefined);
bundle.filename = file;
bundle.paths = Module._nodeModulePaths(dirname(file));
Module._cache[file] = bundle;
script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, dirname(file));
bundle.loaded = true;

if (!cached || script.cachedDataRejected) {
  // Written as the process ends, so the cache holds the functions this command compiled. Only an
  // optimisation: a cache that cannot be written is skipped. Caches of other bundles are removed.
  process.once('exit', () => {
    try {
      mkdirSync(dir, { recursive: true });
      for (const f of readdirSync(dir)) if (!f.startsWith(`${key}.`)) rmSync(join(dir, f), { force: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch { /* no cache this time */ }
  });
}
bundle.exports.runProcess();

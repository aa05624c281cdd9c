#!/usr/bin/env node
// The installed command runs the built bundle (no TypeScript compile on each call), compiled through
// V8's code cache: parsing the bundle is most of a cold start, and with the cache kept from an
// earlier run of the same command V8 skips it, as well as compiling the functions that run used.
// CommonJS (bin/package.json says so), like the bundle: Node then starts no ES module loader
// before the command runs.
'use strict';
const { spawn } = require('node:child_process');
const { createHash } = require('node:crypto');
const { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } = require(
  'node:fs',
);
const Module = require('node:module');
const { homedir } = require('node:os');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

// The cache of KUBESTRAP_HOME, as core/profile.ts finds it.
const cache = join(process.env.KUBESTRAP_HOME || join(homedir(), '.kubestrap'), 'cache');
globalThis.kubestrapEarly = startEarly(join(cache, 'early'));

// The real path: dist/index.js requires the bundle by it, and must find this copy in require's cache.
const file = realpathSync(join(__dirname, '..', 'dist', 'kubestrap.cjs'));
// ASCII (scripts/build.mjs): read as such, without decoding UTF-8.
const source = readFileSync(file, 'latin1');

// One cache per command (each runs different functions), for this bundle and this Node.
const dir = join(cache, 'code');
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

/**
 * Starts, before anything loads, the probes that the last run of this same command line (and
 * directory) ran on this machine before it changed anything: the gathering script first, then the
 * probes asked on their own. They are read-only, and the engine takes an answer only if it would run
 * exactly that command in exactly this environment (core/hosts/local.ts). About 100 ms of loading and
 * planning then overlap with their own 50 ms. A file another user could have written is never run.
 */
function startEarly(dir) {
  // At most this many: a stale list must not start a crowd of processes.
  const EARLY_MAX = 8;
  const keyFile = join(dir, createHash('sha256').update(JSON.stringify([process.cwd(), ...process.argv.slice(2)])).digest('hex').slice(0, 32));
  // The environment they start in: a command is taken, and kept for next time, only in this one.
  const env = JSON.stringify(process.env);
  // NUL-separated: no command can hold one.
  let commands = [];
  try {
    const fd = openSync(keyFile, 'r');
    try {
      const st = fstatSync(fd);
      if (st.uid === process.getuid() && (st.mode & 0o022) === 0) commands = readFileSync(fd, 'utf8').split('\0').filter(Boolean).slice(0, EARLY_MAX);
    } finally {
      closeSync(fd);
    }
  } catch { /* none kept */ }
  // Those not taken yet: each answer is taken once.
  const runs = new Map(commands.map((c) => [c, startProbe(c)]));
  const stopAll = () => {
    for (const run of runs.values()) run.stop();
  };
  const kept = [];
  process.once('exit', () => {
    stopAll();
    if (!kept.length || kept.join('\0') === commands.join('\0')) return;
    // Only an optimisation: a file that cannot be written is skipped.
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${keyFile}.${process.pid}.tmp`;
      writeFileSync(tmp, kept.join('\0'), { mode: 0o600 });
      renameSync(tmp, keyFile);
    } catch { /* started late next time */ }
  });
  return {
    take(c) {
      const run = runs.get(c);
      if (!run || JSON.stringify(process.env) !== env) {
        // What was kept no longer matches this machine (or this run): the others are stopped
        // rather than left to take the processors the engine needs.
        stopAll();
        runs.clear();
        return undefined;
      }
      runs.delete(c);
      return run;
    },
    keep(c) {
      if (kept.length < EARLY_MAX && !kept.includes(c) && JSON.stringify(process.env) === env) kept.push(c);
    },
    stop: stopAll,
  };
}

/** Runs one probe as LocalHost.exec runs a command: /bin/sh -c, its own process group, no input. */
function startProbe(command) {
  const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => err.push(c));
  const result = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: code, signal })
    );
  });
  result.catch(() => {});
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
  };
  return { result, stop };
}

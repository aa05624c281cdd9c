// The installed command: the bundle scripts/build.mjs makes, run by bin/kubestrap.js through V8's
// code cache. Built into a temporary copy of the package (bin/, dist/, the recipes), then run as a
// user runs it: a user's task file importing 'kubestrap', a run for real, a cache kept, a cache that
// V8 refuses, the probes started early, bad input.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quote } from '../core/quote.ts';
import { repoRoot, tempDir } from './helpers/env.ts';

let pkg = '';

function kubestrap(args: string[], home: string, cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync('node', [join(pkg, 'bin', 'kubestrap.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, KUBESTRAP_HOME: home, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function caches(home: string): string[] {
  try {
    return readdirSync(join(home, 'cache', 'code')).sort();
  } catch {
    return [];
  }
}

/** A recipe with one task of the user's own, which writes a file into dir. */
function userRecipe(dir: string): string {
  writeFileSync(
    join(dir, 'stamp.ts'),
    [
      "import { defineTask } from 'kubestrap';",
      'export default defineTask({',
      "  name: 'stamp',",
      "  description: 'Write a stamp file',",
      "  params: { path: { type: 'string' }, text: { type: 'string', default: 'stamped' } },",
      '  async run(ctx, p) { await ctx.write(p.path, p.text); },',
      '});',
      '',
    ].join('\n'),
  );
  const recipe = join(dir, 'stamp.yaml');
  writeFileSync(recipe, `name: stamp\nimports: [./stamp.ts]\nsteps:\n  - id: stamp\n    task: stamp\n    with: { path: ${join(dir, 'out', 'stamp.txt')} }\n`);
  return recipe;
}

/**
 * A recipe whose fact and probe say in dir/log whether the task file was imported when they ran:
 * `early` (before the bundle loaded) or `late`, after `fact ` and `probe ` (the gathering runs the
 * fact; check() asks the probe on its own). With KUBESTRAP_TEST_WAIT set, the task file waits on
 * import until both have run (up to 10 s), so an early start shows without depending on timing.
 */
function gatheringRecipe(dir: string): string {
  const at = (f: string) => quote(join(dir, f));
  const says = (what: string) => `if [ -e ${at('imported')} ]; then echo ${what} late; else echo ${what} early; fi >> ${at('log')}; : > ${at(what)}`;
  const fragment = says('fact');
  writeFileSync(
    join(dir, 'noted.ts'),
    [
      "import { existsSync, writeFileSync } from 'node:fs';",
      "import { defineTask } from 'kubestrap';",
      'const nap = new Int32Array(new SharedArrayBuffer(4));',
      `const ran = () => existsSync(${JSON.stringify(join(dir, 'fact'))}) && existsSync(${JSON.stringify(join(dir, 'probe'))});`,
      'if (process.env.KUBESTRAP_TEST_WAIT) for (let i = 0; i < 1000 && !ran(); i++) Atomics.wait(nap, 0, 0, 10);',
      `writeFileSync(${JSON.stringify(join(dir, 'imported'))}, '');`,
      `const fact = { command: ${JSON.stringify(`sh -c ${quote(fragment)}`)}, via: { kind: 'shell', fragment: ${JSON.stringify(fragment)} } };`,
      'export default defineTask({',
      "  name: 'noted', description: 'Read one fact and one probe', params: {}, facts: () => [fact],",
      `  async check(ctx) { await ctx.probe\`sh -c \${${JSON.stringify(says('probe'))}}\`; return true; },`,
      '  async run() {},',
      '});',
      '',
    ].join('\n'),
  );
  const recipe = join(dir, 'noted.yaml');
  writeFileSync(recipe, 'name: noted\nimports: [./noted.ts]\nsteps:\n  - id: noted\n    task: noted\n');
  return recipe;
}

describe('the built CLI', () => {
  before(() => {
    pkg = mkdtempSync(join(tmpdir(), 'kubestrap-built-'));
    // Removed when the process ends: node:test's before() has no t.after.
    process.on('exit', () => rmSync(pkg, { recursive: true, force: true }));
    mkdirSync(join(pkg, 'bin'));
    // kubestrap.js and the package.json beside it that makes it CommonJS.
    for (const f of readdirSync(join(repoRoot, 'bin'))) copyFileSync(join(repoRoot, 'bin', f), join(pkg, 'bin', f));
    for (const f of ['recipes', 'package.json', 'node_modules']) symlinkSync(join(repoRoot, f), join(pkg, f));
    const b = spawnSync('node', [join(repoRoot, 'scripts', 'build.mjs'), join(pkg, 'dist')], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  });

  test('--version answers, and the first run leaves a code cache for its command', (t) => {
    const home = tempDir(t);
    const r = kubestrap(['--version'], home, home);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kubestrap\/\d+\.\d+\.\d+ /);
    assert.equal(r.stderr, '');
    const files = caches(home);
    assert.equal(files.length, 1);
    // Named after the Node that runs it (not this test's runtime, which may be Deno), the bundle and the command.
    const node = spawnSync('node', ['-p', 'process.version + "-" + process.arch'], { encoding: 'utf8' }).stdout.trim();
    assert.match(files[0]!, new RegExp(`^${node.replace(/\./g, '\\.')}-\\d+-\\d+\\.default\\.bin$`));
  });

  test("a user's task file imports 'kubestrap' and runs for real, with the cache and without", (t) => {
    const dir = tempDir(t);
    const home = join(dir, 'home');
    const recipe = userRecipe(dir);
    for (let i = 0; i < 3; i++) {
      rmSync(join(dir, 'out'), { recursive: true, force: true });
      const r = kubestrap(['run', recipe, '--yes'], home, dir);
      assert.equal(r.code, 0, `run ${i + 1}: ${r.stderr}`);
      assert.equal(readFileSync(join(dir, 'out', 'stamp.txt'), 'utf8'), 'stamped', `run ${i + 1} wrote the file`);
    }
    const files = caches(home);
    assert.deepEqual(files.map((f) => f.split('.').slice(-2, -1)[0]), ['run']);
    // Kept, not written again: V8 accepted it.
    const cache = join(home, 'cache', 'code', files[0]!);
    const written = statSync(cache).mtimeMs;
    const plan = kubestrap(['plan', recipe], home, dir);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /keep .*stamp\.txt \(already as planned\)/);
    assert.equal(kubestrap(['run', recipe, '--yes'], home, dir).code, 0);
    assert.equal(statSync(cache).mtimeMs, written, 'an accepted cache is not rewritten');
  });

  test('a cache V8 refuses is replaced, and caches of another bundle are removed', (t) => {
    const home = tempDir(t);
    assert.equal(kubestrap(['--version'], home, home).code, 0);
    const [name] = caches(home);
    const cache = join(home, 'cache', 'code', name!);
    writeFileSync(cache, 'not a code cache');
    writeFileSync(join(home, 'cache', 'code', 'v0.0.0-x64-1-1.default.bin'), 'an older bundle');
    const r = kubestrap(['--version'], home, home);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(caches(home), [name]);
    assert.notEqual(readFileSync(cache, 'utf8'), 'not a code cache');
  });

  test("the last plan's gathering script and probes of the same command line start before the bundle loads, and run once", (t) => {
    const dir = tempDir(t);
    const home = join(dir, 'home');
    const recipe = gatheringRecipe(dir);
    const log = () => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean) : []);
    const plan = (env: Record<string, string> = {}) => {
      for (const f of ['imported', 'fact', 'probe']) rmSync(join(dir, f), { force: true });
      const r = kubestrap(['plan', recipe, '--format', 'json'], home, dir, env);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { steps: { effects: { kind: string; command?: string; kept?: string }[] }[] };
    };
    const first = plan();
    assert.deepEqual(log(), ['fact late', 'probe late'], 'nothing was kept yet: the engine gathered, then probed');
    const [kept] = readdirSync(join(home, 'cache', 'early'));
    const keptFile = join(home, 'cache', 'early', kept!);
    const probes = first.steps.flatMap((s) => s.effects).filter((e) => e.kind === 'probe').map((e) => e.command);
    assert.equal(probes.length, 2);
    assert.match(probes[0]!, /^k=@@kubestrap-fact@@/);
    assert.equal(readFileSync(keptFile, 'utf8'), probes.join('\0'), 'what is kept is what the plan lists, in its order');
    assert.equal(statSync(keptFile).mode & 0o777, 0o600);
    // The task file waits on import until both ran: they must have started before.
    plan({ KUBESTRAP_TEST_WAIT: '1' });
    assert.deepEqual(
      log().slice(2).sort(),
      ['fact early', 'probe early'],
      'the launcher started both, and the engine took their answers instead of running them again',
    );
    // A command that is not one the engine asks for runs (it is what was kept), but is not taken.
    writeFileSync(keptFile, `echo other >> ${join(dir, 'log')}\n`, { mode: 0o600 });
    plan();
    assert.deepEqual(log().slice(4).sort(), ['fact late', 'other', 'probe late']);
    assert.equal(readFileSync(keptFile, 'utf8'), probes.join('\0'), 'the commands the engine asked for are kept instead');
    // …and one that another user could have written is never run.
    writeFileSync(keptFile, `echo unsafe >> ${join(dir, 'log')}\n`);
    chmodSync(keptFile, 0o666);
    plan();
    assert.deepEqual(log().slice(7), ['fact late', 'probe late']);
  });

  test('bad input: one line, exit code 2, no stack trace', (t) => {
    const home = tempDir(t);
    const r = kubestrap(['plan', join(home, 'missing.yaml')], home, home);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /missing\.yaml/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

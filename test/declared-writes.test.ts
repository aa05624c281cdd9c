// Opaque commands that declare what they write and erase (ctx.declaring): the plan lists the paths
// with what this machine has there, a run backs up what is overwritten, and afterwards compares the
// declaration with what the command really did. Real files in a temp root, through the CLI.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/env.ts';
import type { PlanDocument } from '../core/plan.ts';

/** A tool whose file changes kubestrap cannot see: a shell script that writes and erases by itself. */
const TASK = `import { defineTask } from 'kubestrap';
export default defineTask({
  name: 'opaque-tool',
  description: 'Run a tool that writes and erases files by itself',
  params: { root: { type: 'string' }, script: { type: 'string' } },
  async run(ctx, p) {
    await ctx.declaring({
      label: 'the tool',
      writes: [p.root + '/conf/new.conf', p.root + '/conf/old.conf', p.root + '/state'],
      erases: [p.root + '/cache/*'],
      watch: [p.root + '/conf'],
    }).$\`sh -c \${p.script} tool \${p.root}\`;
  },
});
`;

const EXACT = 'echo new > "$1/conf/new.conf"; echo replaced > "$1/conf/old.conf"; mkdir -p "$1/state"; echo s > "$1/state/x"; rm -rf "$1/cache"/*';
const SLOPPY = 'echo replaced > "$1/conf/old.conf"; echo sneaky > "$1/conf/undeclared.conf"; mkdir -p "$1/state"';

function setup(t: Parameters<typeof tempDir>[0], script: string) {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  mkdirSync(join(root, 'conf'), { recursive: true });
  mkdirSync(join(root, 'cache'), { recursive: true });
  writeFileSync(join(root, 'conf/old.conf'), 'original\n');
  writeFileSync(join(root, 'cache/blob'), 'x'.repeat(1000));
  mkdirSync(join(dir, 'tasks'));
  writeFileSync(join(dir, 'tasks/opaque-tool.ts'), TASK);
  writeFileSync(
    join(dir, 'recipe.yaml'),
    `name: opaque\nimports: [./tasks/opaque-tool.ts]\nsteps:\n  - id: tool\n    task: opaque-tool\n    with: { root: ${JSON.stringify(root)}, script: ${
      JSON.stringify(script)
    } }\n`,
  );
  const env = { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir };
  return { dir, root, env, recipe: join(dir, 'recipe.yaml'), backups: join(dir, 'home/profiles/kubestrap/backups') };
}

describe('opaque commands declare what they write and erase', () => {
  it('the plan lists each declared path with what this machine has there, in every format', async (t) => {
    const s = setup(t, EXACT);
    const json = await runCli(['plan', s.recipe, '--format', 'json'], s.env);
    assert.equal(json.code, 0, json.stderr);
    const plan = JSON.parse(json.stdout) as PlanDocument;
    const exec = plan.steps[0]!.effects.find((e) => e.kind === 'exec');
    assert.ok(exec && exec.kind === 'exec');
    assert.deepEqual(exec.declares, [
      { path: `${s.root}/conf/new.conf`, action: 'write', exists: false },
      { path: `${s.root}/conf/old.conf`, action: 'write', exists: true, bytes: 9, backup: `${s.backups}${s.root}/conf/old.conf` },
      { path: `${s.root}/state`, action: 'write', exists: false },
      { path: `${s.root}/cache/*`, action: 'erase', exists: true, bytes: exec.declares![3]!.bytes },
    ]);
    assert.ok(exec.declares![3]!.bytes! >= 1000);
    assert.deepEqual([plan.summary.filesWritten, plan.summary.filesOverwritten, plan.summary.filesRemoved], [2, 1, 1]);

    const text = await runCli(['plan', s.recipe], s.env);
    assert.equal(text.code, 0, text.stderr);
    const section = (title: string) => text.stdout.split('\n\n').find((b) => b.startsWith(title))?.split('\n').slice(1).map((l) => l.trim()) ?? [];
    assert.deepEqual(section('Files overwritten'), [`${s.root}/conf/old.conf → backup ${s.backups}${s.root}/conf/old.conf (by tool)`]);
    assert.deepEqual(section('Files created'), [`${s.root}/conf/new.conf (by tool)`, `${s.root}/state (by tool)`]);
    assert.match(section('Paths erased')[0] ?? '', new RegExp(`^${s.root}/cache/\\* \\(\\d+(\\.\\d)? (B|KiB)\\) \\(by tool\\)$`));

    const sh = await runCli(['plan', s.recipe, '--format', 'sh'], s.env);
    assert.equal(sh.code, 0, sh.stderr);
    assert.match(sh.stdout, new RegExp(`# declared: writes ${s.root}/conf/old.conf \\(exists: backup `));
    assert.match(sh.stdout, /sh -c 'if \[ -e "\$1" \] && \[ ! -e "\$2" \]; then .*cp -a -- "\$1" "\$2"; fi' backup /);
  });

  it('a run backs up what the command overwrites, and says the command did exactly what it declared', async (t) => {
    const s = setup(t, EXACT);
    const run = await runCli(['run', s.recipe, '--yes', '--json'], s.env);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.equal(readFileSync(join(s.root, 'conf/old.conf'), 'utf8'), 'replaced\n');
    assert.equal(readFileSync(join(s.backups, s.root, 'conf/old.conf'), 'utf8'), 'original\n', 'the original was copied before the tool replaced it');
    const notes = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'note').map((e) =>
      `${e.note.level} ${e.note.message}`
    );
    assert.deepEqual(notes, ['info the tool wrote and erased exactly the 4 declared paths']);
  });

  it('a command that does something else than it declared is reported after the run', async (t) => {
    const s = setup(t, SLOPPY);
    const run = await runCli(['run', s.recipe, '--yes', '--json'], s.env);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.ok(existsSync(join(s.root, 'conf/undeclared.conf')));
    const notes = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'note').map((e) =>
      `${e.note.level} ${e.note.message}`
    );
    assert.deepEqual(notes, [
      `warn the tool did not write ${s.root}/conf/new.conf; did not erase ${s.root}/cache/*; also wrote ${s.root}/conf/undeclared.conf, which it did not declare`,
    ]);
  });
});

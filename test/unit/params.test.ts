// Parameter values: --set strings become the declared (or default's) type; task parameters are
// checked, defaulted and coerced; mistakes are UserErrors that name the parameter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coerceParam, defineTask, resolveParams } from '../../core/task.ts';
import { recipeParams } from '../../core/graph.ts';
import { parseRecipe } from '../../core/recipe.ts';
import { UserError } from '../../core/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/env.ts';

function userError(fn: () => unknown, reason: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UserError && e.reason === reason && (!message || message.test(e.message)));
}

describe('coerceParam', () => {
  it('numbers: numeric strings convert, anything else is refused', () => {
    assert.equal(coerceParam('t', 'n', { type: 'number' }, '3'), 3);
    assert.equal(coerceParam('t', 'n', { type: 'number' }, ' 2.5 '), 2.5);
    assert.equal(coerceParam('t', 'n', { type: 'number' }, '-1e3'), -1000);
    assert.equal(coerceParam('t', 'n', { type: 'number' }, 7), 7);
    for (const bad of ['abc', '', '   ', '3x', 'NaN', 'Infinity', true, null, [1]]) {
      userError(() => coerceParam('t', 'n', { type: 'number' }, bad), 'PARAM_INVALID', /parameter 'n' of task 't' must be a number/);
    }
  });

  it('booleans: true/false strings and booleans only', () => {
    assert.equal(coerceParam('t', 'b', { type: 'boolean' }, 'true'), true);
    assert.equal(coerceParam('t', 'b', { type: 'boolean' }, 'false'), false);
    assert.equal(coerceParam('t', 'b', { type: 'boolean' }, false), false);
    for (const bad of ['yes', '1', 'TRUE', 1, '']) userError(() => coerceParam('t', 'b', { type: 'boolean' }, bad), 'PARAM_INVALID', /must be true or false/);
  });

  it('lists: comma-separated strings split, numbers become strings', () => {
    assert.deepEqual(coerceParam('t', 'l', { type: 'string[]' }, 'a,b,c'), ['a', 'b', 'c']);
    assert.deepEqual(coerceParam('t', 'l', { type: 'string[]' }, ''), []);
    assert.deepEqual(coerceParam('t', 'l', { type: 'string[]' }, ['x', 2]), ['x', '2']);
    userError(() => coerceParam('t', 'l', { type: 'string[]' }, [{}]), 'PARAM_INVALID');
    userError(() => coerceParam('t', 'l', { type: 'string[]' }, 5), 'PARAM_INVALID');
  });

  it('strings: enum with did-you-mean, pattern on the whole value, placeholders pass', () => {
    assert.equal(coerceParam('t', 's', { type: 'string' }, 5), '5');
    userError(
      () => coerceParam('t', 'rt', { type: 'string', enum: ['containerd', 'docker', 'cri-o'] }, 'containerdd'),
      'PARAM_INVALID',
      /did you mean 'containerd'/,
    );
    userError(() => coerceParam('t', 'mode', { type: 'string', pattern: '0?[0-7]{3,4}' }, '0644; rm -rf /'), 'PARAM_INVALID', /must match/);
    assert.equal(coerceParam('t', 'mode', { type: 'string', pattern: '[0-9]+' }, '<output of vm>', true), '<output of vm>');
    // A value the user typed is never a placeholder: its pattern applies.
    userError(() => coerceParam('t', 'name', { type: 'string', pattern: '[a-z]+' }, '<output of /../../x>'), 'PARAM_INVALID', /must match/);
    userError(() => coerceParam('t', 's', { type: 'string' }, { a: 1 }), 'PARAM_INVALID', /got a mapping/);
  });

  it('objects: mappings only', () => {
    assert.deepEqual(coerceParam('t', 'o', { type: 'object' }, { a: 1 }), { a: 1 });
    userError(() => coerceParam('t', 'o', { type: 'object' }, ['a']), 'PARAM_INVALID', /got a list/);
  });
});

describe('resolveParams and defineTask', () => {
  const task = defineTask({
    name: 'demo',
    description: 'd',
    params: { path: { type: 'string' }, count: { type: 'number', default: 1 }, on: { type: 'boolean', default: false } },
    run() {},
  });

  it('fills defaults and coerces given values', () => {
    assert.deepEqual(resolveParams(task as never, { path: '/x', count: '4' }), { path: '/x', count: 4, on: false });
  });

  it('refuses unknown (with nearest name) and missing parameters', () => {
    userError(() => resolveParams(task as never, { path: '/x', cuont: 2 }), 'PARAM_UNKNOWN');
    try {
      resolveParams(task as never, { path: '/x', cuont: 2 });
    } catch (e) {
      assert.equal((e as UserError).fix, "did you mean 'count'?");
    }
    userError(() => resolveParams(task as never, {}), 'PARAM_MISSING', /needs parameter 'path'/);
  });

  it('defineTask refuses bad names, missing run, untyped params and bad defaults', () => {
    userError(() => defineTask({ name: 'Bad_Name', description: '', run() {} }), 'TASK_INVALID', /not valid/);
    userError(() => defineTask({ name: 'x', description: '' } as never), 'TASK_INVALID', /no run function/);
    userError(() => defineTask({ name: 'x', description: '', params: { p: {} as never }, run() {} }), 'TASK_INVALID', /needs a type/);
    userError(() => defineTask({ name: 'x', description: '', params: { p: { type: 'number', default: 'many' } }, run() {} }), 'PARAM_INVALID');
  });
});

describe('recipe parameters from --set', () => {
  const recipe = parseRecipe(
    '/r.yaml',
    `name: r
params:
  n: 3
  flag: false
  list: [a]
  text: hello
  port: { default: "8080", type: number }
  typed: { default: "x", type: string }
steps:
  - { id: s, task: noop }
`,
  );
  const base = { profile: 'p', env: {} };

  it('converts each string to the type of the default or the declared type', () => {
    const p = recipeParams(recipe, { n: '5', flag: 'true', list: 'x,y', text: '42', port: '9090', typed: 'true' }, true, base);
    assert.deepEqual(p, { n: 5, flag: true, list: ['x', 'y'], text: '42', port: 9090, typed: 'true' });
  });

  it('keeps defaults when not set', () => {
    assert.deepEqual(recipeParams(recipe, {}, true, base), { n: 3, flag: false, list: ['a'], text: 'hello', port: '8080', typed: 'x' });
  });

  it('refuses a bad value with the position of the parameter', () => {
    try {
      recipeParams(recipe, { n: 'three' }, true, base);
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof UserError);
      assert.equal(e.reason, 'PARAM_INVALID');
      assert.deepEqual(e.where, { file: '/r.yaml', line: 3, column: 6 });
    }
    userError(() => recipeParams(recipe, { flag: 'maybe' }, true, base), 'PARAM_INVALID', /must be true or false/);
  });

  it('refuses unknown names with the nearest, and templates from the command line', () => {
    try {
      recipeParams(recipe, { txt: 'x' }, true, base);
      assert.fail('accepted');
    } catch (e) {
      assert.equal((e as UserError).reason, 'PARAM_UNKNOWN');
      assert.equal((e as UserError).fix, "did you mean 'text'?");
    }
    userError(() => recipeParams(recipe, { text: '${{ env.SECRET }}' }, true, base), 'PARAM_INVALID', /may not contain/);
  });

  it('reach the plan typed (CLI end to end)', async (t) => {
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'r.yaml'),
      'name: r\nparams:\n  n: 3\n  on: false\n  names: [a]\nsteps:\n  - { id: s, task: write-file, with: { path: /nonexistent-kubestrap/x, content: "${{ params.n }}" } }\n',
    );
    const r = await runCli(['plan', 'r.yaml', '--format', 'json', '--set', 'n=12', '--set', 'on=true', '--set', 'names=x,y'], {
      cwd: dir,
      env: { KUBESTRAP_HOME: join(dir, 'h') },
    });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(plan.params, { n: 12, on: true, names: ['x', 'y'] });
    assert.equal(plan.steps[0].effects.find((e: { kind: string }) => e.kind === 'write').content, '12');
  });
});

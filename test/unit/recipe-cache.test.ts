// A recipe parsed once is read back from the cache; errors found then still name file:line:column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseRecipe } from '../../core/recipe.ts';
import { UserError } from '../../core/errors.ts';
import { tempDir } from '../helpers/env.ts';

const TEXT = `name: cached
steps:
  - id: a
    task: write-file
  - id: b
    tsak: write-file
`;

function errorOf(cacheDir: string): UserError {
  try {
    parseRecipe('/r/cached.yaml', TEXT, cacheDir);
  } catch (e) {
    return e as UserError;
  }
  throw new Error('expected an error');
}

test('the second parse comes from the cache and reports the same position', (t) => {
  const cache = join(tempDir(t), 'recipes');
  const first = errorOf(cache);
  assert.equal(readdirSync(cache).length, 1, 'the parsed YAML was cached');
  const second = errorOf(cache);
  assert.equal(first.line(), second.line());
  assert.match(second.line(), /^\/r\/cached\.yaml:6:5: unknown key 'tsak'/);
});

test('a valid recipe reads back equal from the cache', (t) => {
  const cache = join(tempDir(t), 'recipes');
  const text = 'name: ok\nsteps:\n  - id: a\n    task: write-file\n    with: { path: /x, content: "1" }\n';
  const a = parseRecipe('/r/ok.yaml', text, cache);
  const b = parseRecipe('/r/ok.yaml', text, cache);
  assert.deepEqual(b.steps.map((s) => [s.id, s.task, s.with]), a.steps.map((s) => [s.id, s.task, s.with]));
  assert.deepEqual(b.where(['steps', 0, 'with']), { file: '/r/ok.yaml', line: 5, column: 11 });
});

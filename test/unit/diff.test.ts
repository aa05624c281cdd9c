// The plan's diffs must be real unified diffs: equal to `diff -u` where the change is unambiguous,
// and always applicable with `patch` to turn the old file into the new one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unifiedDiff } from '../../core/diff.ts';
import { missing, tempDir } from '../helpers/env.ts';

const lines = (n: number, f = (i: number) => `line ${i}`) => Array.from({ length: n }, (_, i) => f(i + 1)).join('\n') + '\n';

/** GNU diff -u's hunks, with its short `-N` ranges written as `-N,1` like ours. */
function gnuHunks(dir: string, a: string, b: string): string {
  writeFileSync(join(dir, 'a'), a);
  writeFileSync(join(dir, 'b'), b);
  const r = spawnSync('diff', ['-u', join(dir, 'a'), join(dir, 'b')], { encoding: 'utf8' });
  return r.stdout.split('\n').slice(2).join('\n')
    .replace(/^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@/gm, (_, a1, a2, b1, b2) => `@@ -${a1}${a2 ?? ',1'} +${b1}${b2 ?? ',1'} @@`);
}

function ourHunks(a: string, b: string): string {
  const d = unifiedDiff(a, b, '/etc/x');
  if (!d) return '';
  const [l1, l2, ...rest] = d.split('\n');
  assert.equal(l1, '--- /etc/x');
  assert.equal(l2, '+++ /etc/x');
  return rest.join('\n');
}

/** Applies our diff with patch(1) and returns the result. */
function patched(dir: string, a: string, b: string): string {
  const file = join(dir, 'target');
  writeFileSync(file, a);
  const d = unifiedDiff(a, b, file);
  if (d) execFileSync('patch', ['-s', '--no-backup-if-mismatch', file], { input: d });
  return readFileSync(file, 'utf8');
}

const CASES: [string, string, string][] = [
  ['one line changed in the middle', lines(20), lines(20, (i) => (i === 10 ? 'changed' : `line ${i}`))],
  ['lines appended', lines(5), lines(8)],
  ['lines removed at the start', lines(10), lines(10).split('\n').slice(3).join('\n')],
  ['two changes far apart: two hunks', lines(40), lines(40, (i) => (i === 3 || i === 35 ? `x${i}` : `line ${i}`))],
  ['two changes close together: one hunk', lines(40), lines(40, (i) => (i === 10 || i === 15 ? `x${i}` : `line ${i}`))],
  ['changes 6 lines apart: still one hunk', lines(30), lines(30, (i) => (i === 10 || i === 17 ? `x${i}` : `line ${i}`))],
  ['changes 7 lines apart: two hunks', lines(30), lines(30, (i) => (i === 10 || i === 18 ? `x${i}` : `line ${i}`))],
  ['change on the first and last line', lines(4), lines(4, (i) => (i === 1 || i === 4 ? `x${i}` : `line ${i}`))],
  ['from empty', '', 'a\nb\n'],
  ['to empty', 'a\nb\n', ''],
  ['newline added at the end', 'a\nb', 'a\nb\n'],
  ['newline removed at the end', 'a\nb\n', 'a\nb'],
  ['last line changed without newline', 'a\nb\nc\n', 'a\nB\nc'],
  ['single line replaced', 'old\n', 'new\n'],
  ['toml-like edit', '[plugins]\n  SystemdCgroup = false\n  sandbox = "pause:3.8"\n', '[plugins]\n  SystemdCgroup = true\n  sandbox = "pause:3.9"\n'],
];

const skip = missing(['diff', 'patch'], 'apt-get install diffutils patch');

describe('unifiedDiff', () => {
  it('is empty when nothing changed', () => {
    assert.equal(unifiedDiff('a\nb\n', 'a\nb\n', '/f'), '');
    assert.equal(unifiedDiff('', '', '/f'), '');
  });

  for (const [name, a, b] of CASES) {
    it(`matches diff -u: ${name}`, { skip }, (t) => {
      const dir = tempDir(t);
      assert.equal(ourHunks(a, b), gnuHunks(dir, a, b));
      assert.equal(patched(dir, a, b), b);
    });
  }

  it('always patches old into new (random edits)', { skip }, (t) => {
    const dir = tempDir(t);
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pick = () => ['a', 'b', 'c', 'd', ''][Math.floor(rand() * 5)]!;
    for (let round = 0; round < 25; round++) {
      const a = Array.from({ length: Math.floor(rand() * 30) }, pick).join('\n') + (rand() < 0.8 ? '\n' : '');
      const b = a.split('\n').map((l) => (rand() < 0.15 ? pick() : l)).filter(() => rand() > 0.1).join('\n') + (rand() < 0.5 ? '\nz\n' : '');
      assert.equal(patched(dir, a, b), b, `round ${round}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
    }
  });

  it('hunk headers count the lines they hold', () => {
    const d = unifiedDiff(lines(50), lines(50, (i) => (i % 12 === 0 ? 'x' : `line ${i}`)), '/f');
    const hunks = d.split(/^(?=@@)/m).slice(1);
    assert.equal(hunks.length, 4); // lines 12, 24, 36, 48: 11 unchanged lines apart, more than 2 × 3 of context
    for (const h of hunks) {
      const [, , aLen, , bLen] = /^@@ -(\d+),(\d+) \+(\d+),(\d+) @@/.exec(h)!.map(Number);
      const body = h.split('\n').slice(1).filter((l) => l !== '');
      assert.equal(body.filter((l) => l[0] !== '+').length, aLen);
      assert.equal(body.filter((l) => l[0] !== '-').length, bLen);
    }
  });

  it('gives up politely on huge files instead of using quadratic memory', () => {
    const d = unifiedDiff(lines(3000), lines(3000, (i) => `changed ${i}`), '/big');
    assert.match(d, /whole file replaced \(3000 lines → 3000 lines\)/);
  });
});

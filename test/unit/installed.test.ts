// runtimes/installed.ts's one probe, run against this machine: the same paths, owners and version
// lines as asking `command -v`, `dpkg-query -S` and `--version` one binary at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseBinaries, RUNTIME_BINARIES, runtimeBinaries } from '../../runtimes/installed.ts';
import { hasBinary } from '../helpers/env.ts';

const sh = (script: string, ...args: string[]) => spawnSync('sh', ['-c', script, 'sh', ...args], { encoding: 'utf8' }).stdout;

test('the runtime binaries probe answers as the one-by-one commands do', (t) => {
  if (!hasBinary('dpkg-query')) {
    t.skip('not a Debian system');
    return;
  }
  const found = parseBinaries(spawnSync('sh', ['-c', runtimeBinaries().command], { encoding: 'utf8' }).stdout);
  const expected = RUNTIME_BINARIES.flatMap((b) => {
    const path = sh('command -v "$1"', b).trim();
    if (!path) return [];
    const owner = sh('dpkg-query -S "$1" 2>/dev/null | grep -v "^diversion" | head -n 1 | cut -d: -f1', path).trim();
    const versionLine = sh('"$1" --version 2>/dev/null </dev/null | head -n 1', path).trim();
    return [[b, path, owner || undefined, versionLine]];
  });
  if (!expected.length) t.diagnostic('none of the runtime binaries is installed here: only the empty answer is compared');
  assert.deepEqual([...found.values()].map((f) => [f.name, f.path, f.owner, f.versionLine]).sort(), expected.sort());
});

// Answers kept across plans and runs for memoized facts (core/fact-memo.ts): on this machine, with a
// real program whose every run is counted, the kept answer is used while its validator prints the
// same, and the program is asked again once the file changed; the plan of `start` digests the same
// with an answer kept and without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FactMemo } from '../core/fact-memo.ts';
import { type FactProbe, memoized, packageStates, shellFact } from '../core/facts.ts';
import { LocalHost } from '../core/hosts/local.ts';
import { ProbeCache } from '../core/probe-cache.ts';
import { quote } from '../core/quote.ts';
import { runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/env.ts';

/** A program that prints its version and counts its runs in a file beside it. */
function tool(dir: string, version: string): string {
  const bin = join(dir, 'tool');
  writeFileSync(bin, `#!/bin/sh\necho run >> ${quote(join(dir, 'runs'))}\necho "tool version ${version}"\n`, { mode: 0o755 });
  return bin;
}

const runs = (dir: string) => {
  try {
    return readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

const versionFact = (bin: string, validator = `stat -L -c '%n %d %i %s %.9Y %.9Z' -- ${quote(bin)}`): FactProbe =>
  memoized(shellFact('"$1" --version', bin), validator);

/** Gathers the fact in a new ProbeCache (as a new process would) keeping answers in memoFile. */
async function gatherOnce(memoFile: string, fact: FactProbe) {
  const g = await new ProbeCache(new FactMemo(memoFile)).gather(new LocalHost(), () => [fact, shellFact('true')], new AbortController().signal);
  assert.ok(g, 'gathered');
  return { script: g.script, kept: g.kept, answer: g.found.byCommand.get(fact.command)?.stdout };
}

test('a kept answer is used while its validator prints the same, and asked again when the file changes', async (t) => {
  const dir = tempDir(t);
  const memo = join(dir, 'facts.json');
  const fact = versionFact(tool(dir, '1.2.3'));
  const first = await gatherOnce(memo, fact);
  assert.equal(first.answer, 'tool version 1.2.3\n');
  assert.equal(first.kept, '');
  assert.equal(runs(dir), 1);
  const second = await gatherOnce(memo, fact);
  assert.equal(second.answer, 'tool version 1.2.3\n');
  assert.equal(runs(dir), 1, 'the kept answer was used: the program did not run');
  assert.match(second.kept, /^kept_\d+='.*tool /);
  assert.equal(second.script, first.script, 'the script is the same whatever is kept');
  // Written over in place, same size: its change time moves, so the validator differs.
  tool(dir, '1.2.4');
  const third = await gatherOnce(memo, fact);
  assert.equal(third.answer, 'tool version 1.2.4\n');
  assert.equal(runs(dir), 2);
  assert.equal((await gatherOnce(memo, fact)).answer, 'tool version 1.2.4\n');
  assert.equal(runs(dir), 2);
});

test("the package states are kept while dpkg's database and the managers on PATH are the same", async (t) => {
  if (!existsSync('/usr/bin/dpkg-query')) return t.skip('no dpkg here (this test needs a Debian machine)');
  const dir = tempDir(t);
  // A dpkg-query first on PATH that counts its runs, then asks the real one.
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'dpkg-query'), `#!/bin/sh\necho run >> ${quote(join(dir, 'runs'))}\nexec /usr/bin/dpkg-query "$@"\n`, { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${join(dir, 'bin')}:${path}`;
  t.after(() => void (process.env.PATH = path));
  const memo = join(dir, 'facts.json');
  const fact = packageStates(['dpkg', 'kubestrap-no-such-package']);
  const first = await gatherOnce(memo, fact);
  assert.match(first.answer ?? '', /^manager apt-get\npackage dpkg \S+\n$/);
  assert.equal(runs(dir), 1);
  const second = await gatherOnce(memo, fact);
  assert.equal(second.answer, first.answer);
  assert.equal(runs(dir), 1, 'the kept answer was used: dpkg-query did not run');
  assert.match(second.kept, /^kept_packages='[^']*\/var\/lib\/dpkg\/status /m);
  // As after a change to dpkg's database: the stat kept no longer matches, so the query runs again.
  const stored = JSON.parse(readFileSync(memo, 'utf8'));
  for (const e of Object.values(stored.local as Record<string, { validator: string }>)) e.validator = e.validator.replace(/ \d+\.\d+ /, ' 1.000000000 ');
  writeFileSync(memo, JSON.stringify(stored));
  assert.equal((await gatherOnce(memo, fact)).answer, first.answer);
  assert.equal(runs(dir), 2);
});

test('a validator that prints nothing is never trusted', async (t) => {
  const dir = tempDir(t);
  const memo = join(dir, 'facts.json');
  const fact = versionFact(tool(dir, '1.0.0'), `stat -c %i -- ${quote(join(dir, 'absent'))} 2>/dev/null`);
  for (let i = 1; i <= 2; i++) {
    assert.equal((await gatherOnce(memo, fact)).answer, 'tool version 1.0.0\n');
    assert.equal(runs(dir), i);
  }
});

test('a memo file that is not JSON is ignored and replaced', async (t) => {
  const dir = tempDir(t);
  const memo = join(dir, 'facts.json');
  writeFileSync(memo, '{not json');
  const fact = versionFact(tool(dir, '2.0.0'));
  assert.equal((await gatherOnce(memo, fact)).answer, 'tool version 2.0.0\n');
  assert.equal((await gatherOnce(memo, fact)).answer, 'tool version 2.0.0\n');
  assert.equal(runs(dir), 1);
});

test("the start plan's digest is the same with the runtime binaries' answer kept and without", async (t) => {
  const home = tempDir(t);
  const plan = async () => {
    const r = await runCli(['start', '--driver', 'none', '--dry-run', '--format', 'json'], { env: { ...process.env, KUBESTRAP_HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { digest: string; steps: { effects: { kind: string; kept?: string }[] }[] };
  };
  const kept = (p: Awaited<ReturnType<typeof plan>>) => p.steps.flatMap((s) => s.effects).filter((e) => e.kind === 'probe' && e.kept).length;
  const first = await plan();
  assert.equal(kept(first), 0);
  const second = await plan();
  assert.equal(kept(second), 1, 'the second plan used the kept answer');
  assert.equal(second.digest, first.digest);
});

// One run per profile: the lock names its holder, and a lock left by a dead process is taken over.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { checkProfileName, listProfiles, lockProfile, profileDir, readState, saveState } from '../../core/profile.ts';
import { RefusedError, UserError } from '../../core/errors.ts';
import { tempDir } from '../helpers/env.ts';

function refusal(fn: () => unknown): RefusedError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RefusedError, String(e));
    return e;
  }
  assert.fail('expected a refusal');
}

/** A pid that certainly belongs to no process: one that has just exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$']);
  return Number(r.stdout.toString().trim());
}

function writeLock(home: string, profile: string, info: Record<string, unknown>): string {
  const dir = profileDir(home, profile);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'lock');
  writeFileSync(file, JSON.stringify(info) + '\n');
  return file;
}

describe('profile lock', () => {
  it('a second lock on the same profile is refused, naming the holder pid; others are free', (t) => {
    const home = tempDir(t);
    const unlock = lockProfile(home, 'dev', 'run demo');
    try {
      const e = refusal(() => lockProfile(home, 'dev', 'run other'));
      assert.equal(e.reason, 'PROFILE_LOCKED');
      assert.equal(e.exitCode, 3);
      assert.match(e.message, new RegExp(`in use by pid ${process.pid} on ${os.hostname()} \\(run demo, since `));
      assert.match(e.fix!, /remove .*profiles\/dev\/lock/);
      // A different profile is not affected.
      lockProfile(home, 'prod', 'run demo')();
    } finally {
      unlock();
    }
  });

  it('a lock held by another live process is refused with that pid', async (t) => {
    const home = tempDir(t);
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => holder.once('spawn', r));
      writeLock(home, 'dev', { pid: holder.pid, hostname: os.hostname(), command: 'run start', started: '2024-01-01T00:00:00Z' });
      assert.match(refusal(() => lockProfile(home, 'dev', 'run x')).message, new RegExp(`pid ${holder.pid} .*run start`));
    } finally {
      holder.kill('SIGKILL'); // not t.after: Deno skips it for tests inside describe()
    }
  });

  it('a stale lock from a dead pid on this host is taken over', (t) => {
    const home = tempDir(t);
    const pid = deadPid();
    const file = writeLock(home, 'dev', { pid, hostname: os.hostname(), command: 'run crashed', started: '2024-01-01T00:00:00Z' });
    const unlock = lockProfile(home, 'dev', 'run new');
    const now = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(now.pid, process.pid);
    assert.equal(now.command, 'run new');
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    unlock();
    assert.equal(existsSync(file), false, 'released');
  });

  it('a lock from another host is never assumed stale', (t) => {
    const home = tempDir(t);
    writeLock(home, 'dev', { pid: deadPid(), hostname: 'some-other-host', command: 'run x', started: 's' });
    assert.match(refusal(() => lockProfile(home, 'dev', 'run y')).message, /on some-other-host/);
  });

  it('a fresh unreadable lock file still refuses; an old one (an empty lock left by a full disk) is taken over', (t) => {
    const home = tempDir(t);
    const dir = profileDir(home, 'dev');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'lock'), '{"pid": 1');
    assert.match(refusal(() => lockProfile(home, 'dev', 'run y')).message, /locked by a lock file that does not name its holder/);
    writeFileSync(join(dir, 'lock'), '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'lock'), old, old);
    const unlock = lockProfile(home, 'dev', 'run z');
    assert.equal(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).command, 'run z');
    unlock();
    assert.deepEqual(readdirSync(dir), [], 'no temp or takeover file left');
  });

  it('releasing does not remove a lock someone else took since', (t) => {
    const home = tempDir(t);
    const unlock = lockProfile(home, 'dev', 'run a');
    const file = writeLock(home, 'dev', { pid: process.pid + 1, hostname: 'elsewhere', command: 'run b', started: 's' });
    unlock();
    assert.equal(existsSync(file), true);
  });
});

describe('profiles', () => {
  it('names are checked', () => {
    for (const ok of ['kubestrap', 'dev-1', 'a.b_c', '0']) assert.equal(checkProfileName(ok), ok);
    for (const bad of ['', '../x', 'a/b', '-x', '.hidden', 'x'.repeat(64), 'sp ace', 'ü']) {
      assert.throws(() => checkProfileName(bad), (e: unknown) => e instanceof UserError && e.reason === 'PROFILE_INVALID', bad);
    }
  });

  it('state is saved atomically and listed', (t) => {
    const home = tempDir(t);
    assert.equal(readState(home, 'dev'), undefined);
    saveState(home, { profile: 'dev', recipe: 'r', recipeFile: '/r.yaml', params: { n: 1 }, status: 'ok', finished: 'now', steps: [] });
    assert.equal(readState(home, 'dev')!.params.n, 1);
    assert.equal((statSync(join(profileDir(home, 'dev'), 'state.json')).mode & 0o777).toString(8), '600');
    assert.deepEqual(listProfiles(home), ['dev']);
  });
});

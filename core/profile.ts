// Profiles under $KUBESTRAP_HOME: parameters, what ran, a lock naming its holder.
import { accessSync, constants, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { RefusedError, UserError } from './errors.ts';

export function kubestrapHome(env: Record<string, string | undefined>): string {
  return env.KUBESTRAP_HOME || join(os.homedir(), '.kubestrap');
}

const PROFILE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export function checkProfileName(name: string): string {
  if (!PROFILE.test(name)) {
    throw new UserError('PROFILE_INVALID', `profile name ${JSON.stringify(name)} is not valid`, {
      fix: 'use letters, digits, ., _ and -, starting with a letter or digit',
    });
  }
  return name;
}

export function profileDir(home: string, profile: string): string {
  return join(home, 'profiles', checkProfileName(profile));
}

interface LockInfo {
  pid: number;
  hostname: string;
  command: string;
  started: string;
  nonce?: string;
}

/**
 * Takes the profile's lock or refuses, naming who holds it. The lock appears with its content at
 * once (written to a temp file, then hard-linked into place: never an empty lock). A lock whose
 * process is gone is taken over under a short-lived second lock, so two runs that find the same
 * stale lock cannot both take it.
 */
export function lockProfile(home: string, profile: string, command: string): () => void {
  const dir = profileDir(home, profile);
  const file = join(dir, 'lock');
  const fail = (e: unknown): never => {
    throw new UserError('PROFILE_UNWRITABLE', `cannot take the lock of profile '${profile}' in ${dir}: ${fsReason(e, dir)}`, {
      fix: 'free space or fix the permissions there, or set KUBESTRAP_HOME to a writable directory',
    });
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    fail(e);
  }
  const info: LockInfo = { pid: process.pid, hostname: os.hostname(), command, started: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
  const tmp = join(dir, `.lock.${process.pid}.${info.nonce}`);
  try {
    writeFileSync(tmp, JSON.stringify(info) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    rmSync(tmp, { force: true });
    fail(e);
  }
  const ours = () => readLock(file)?.nonce === info.nonce;
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (tryLink(tmp, file)) {
        // Every command this run starts on this machine inherits the mark, so a later run can find them.
        process.env[RUN_MARK] = info.nonce;
        return () => {
          if (process.env[RUN_MARK] === info.nonce) delete process.env[RUN_MARK];
          try {
            if (ours()) rmSync(file);
          } catch { /* already gone */ }
        };
      }
      const holder = readLock(file);
      const stale = holder ? holder.hostname === os.hostname() && !alive(holder.pid) : unreadableFor(file, 2000);
      if (stale && holder) {
        // A holder killed outright (kill -9) leaves the commands it started running: never start
        // the same steps beside them.
        const orphans = orphansOf(holder);
        if (orphans.length) {
          throw new RefusedError(
            'PROFILE_ORPHANS',
            `the run that held profile '${profile}' (pid ${holder.pid}, ${holder.command}) is gone, but commands it started still run: ${
              orphans.map((o) => `pid ${o.pid} (${o.command})`).join(', ')
            }`,
            {
              fix: `wait for them to end, or stop them (kill ${orphans.map((o) => o.pid).join(' ')}), then run again`,
            },
          );
        }
      }
      if (!stale) {
        if (!holder) {
          sleepMs(20);
          continue;
        } // being replaced right now: look again
        throw new RefusedError(
          'PROFILE_LOCKED',
          `profile '${profile}' is in use by pid ${holder.pid} on ${holder.hostname} (${holder.command}, since ${holder.started})`,
          {
            fix: `wait for it to finish, or remove ${file} if that process is gone`,
          },
        );
      }
      // Only the holder of lock.takeover may remove a stale lock, and only the one it just read.
      const takeover = `${file}.takeover`;
      if (!tryLink(tmp, takeover)) {
        if (unreadableFor(takeover, 10_000, true)) rmSync(takeover, { force: true }); // its taker died mid-way
        sleepMs(10 + Math.random() * 20);
        continue;
      }
      try {
        const again = readLock(file);
        if (again === undefined ? unreadableFor(file, 2000) : again.nonce === holder?.nonce && again.pid === holder?.pid && again.started === holder?.started) {
          rmSync(file, { force: true });
        }
      } finally {
        rmSync(takeover, { force: true });
      }
    }
    throw new RefusedError('PROFILE_LOCKED', `profile '${profile}' is locked by a lock file that does not name its holder yet`, {
      fix: `try again; if it stays, remove ${file}`,
    });
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The environment variable that marks the commands a run starts on this machine (its lock's nonce). */
const RUN_MARK = 'KUBESTRAP_RUN';

/** Processes still carrying a dead holder's mark (Linux /proc; commands run through sudo lose it). */
function orphansOf(holder: LockInfo): { pid: number; command: string }[] {
  if (!holder.nonce) return [];
  const mark = `${RUN_MARK}=${holder.nonce}`;
  const found: { pid: number; command: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const p of entries) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${p}/environ`, 'latin1').split('\0').includes(mark)) continue;
      const command = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      found.push({ pid: Number(p), command: command.length > 60 ? command.slice(0, 60) + '…' : command });
    } catch { /* gone, or not ours to read */ }
  }
  return found;
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** A lock file that cannot be read as one (empty, cut, garbage) and has not changed for a while. */
function unreadableFor(file: string, ms: number, any = false): boolean {
  try {
    if (!any && readLock(file)) return false;
    return Date.now() - statSync(file).mtimeMs > ms;
  } catch {
    return false;
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readLock(file: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return v && typeof v.pid === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ProfileState {
  profile: string;
  recipe: string;
  recipeFile: string;
  params: Record<string, unknown>;
  status: 'ok' | 'failed' | 'interrupted';
  finished: string;
  steps: { id: string; task: string; host: string; status: string; error?: string; outputs?: Record<string, unknown> }[];
}

/** Saves state atomically: temp file and rename. A full or read-only disk is a clear error, not a torn file. */
export function saveState(home: string, state: ProfileState): void {
  const dir = profileDir(home, state.profile);
  const tmp = join(dir, `.state.${process.pid}.json`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, join(dir, 'state.json'));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError('STATE_UNWRITABLE', `the run finished (${state.status}) but its state could not be saved in ${dir}: ${fsReason(e, dir)}`, {
      fix: 'free space or fix the permissions there; kubestrap status will show the previous run',
    });
  }
}

/** Why a file operation failed, in words; `dir`: where, to look past a recursive mkdir's ENOENT. */
export function fsReason(e: unknown, dir?: string): string {
  let code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' && dir) {
    // mkdir -p on a read-only or full file system can report ENOENT: ask the nearest existing parent.
    let p = dir;
    while (p !== dirname(p) && !existsSync(p)) p = dirname(p);
    try {
      accessSync(p, constants.W_OK);
    } catch (w) {
      code = (w as NodeJS.ErrnoException).code;
    }
  }
  switch (code) {
    case 'ENOSPC':
      return 'the disk is full';
    case 'EDQUOT':
      return 'the disk quota is exhausted';
    case 'EROFS':
      return 'the file system is read-only';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    case 'ENOENT':
      return 'its directory does not exist';
    default:
      return (e as Error).message;
  }
}

export function readState(home: string, profile: string): ProfileState | undefined {
  try {
    return JSON.parse(readFileSync(join(profileDir(home, profile), 'state.json'), 'utf8')) as ProfileState;
  } catch {
    return undefined;
  }
}

export function listProfiles(home: string): string[] {
  const dir = join(home, 'profiles');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => PROFILE.test(n)).sort();
}

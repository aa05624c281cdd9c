// Profiles under $KUBESTRAP_HOME: parameters, what ran, a lock naming its holder.
import { mkdirSync, openSync, writeSync, closeSync, readFileSync, rmSync, renameSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { RefusedError, UserError } from './errors.ts';

export function kubestrapHome(env: Record<string, string | undefined>): string {
  return env.KUBESTRAP_HOME || join(os.homedir(), '.kubestrap');
}

const PROFILE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export function checkProfileName(name: string): string {
  if (!PROFILE.test(name)) throw new UserError('PROFILE_INVALID', `profile name ${JSON.stringify(name)} is not valid`, { fix: 'use letters, digits, ., _ and -, starting with a letter or digit' });
  return name;
}

export function profileDir(home: string, profile: string): string {
  return join(home, 'profiles', checkProfileName(profile));
}

interface LockInfo { pid: number; hostname: string; command: string; started: string }

/** Takes the profile's lock or refuses, naming who holds it. A lock whose process is gone is taken over. */
export function lockProfile(home: string, profile: string, command: string): () => void {
  const dir = profileDir(home, profile);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'lock');
  const info: LockInfo = { pid: process.pid, hostname: os.hostname(), command, started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(info) + '\n');
      closeSync(fd);
      return () => { try { if (readLock(file)?.pid === process.pid) rmSync(file); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readLock(file);
      if (holder && holder.hostname === os.hostname() && !alive(holder.pid)) { rmSync(file, { force: true }); continue; }
      throw new RefusedError('PROFILE_LOCKED', `profile '${profile}' is in use by ${holder ? `pid ${holder.pid} on ${holder.hostname} (${holder.command}, since ${holder.started})` : 'another kubestrap'}`, {
        fix: `wait for it to finish, or remove ${file} if that process is gone`,
      });
    }
  }
  throw new RefusedError('PROFILE_LOCKED', `profile '${profile}' is locked`, { fix: `remove ${file}` });
}

function readLock(file: string): LockInfo | undefined {
  try { return JSON.parse(readFileSync(file, 'utf8')) as LockInfo; } catch { return undefined; }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
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

/** Saves state atomically: temp file and rename. */
export function saveState(home: string, state: ProfileState): void {
  const dir = profileDir(home, state.profile);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.state.${process.pid}.json`);
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, join(dir, 'state.json'));
}

export function readState(home: string, profile: string): ProfileState | undefined {
  try { return JSON.parse(readFileSync(join(profileDir(home, profile), 'state.json'), 'utf8')) as ProfileState; } catch { return undefined; }
}

export function listProfiles(home: string): string[] {
  const dir = join(home, 'profiles');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => PROFILE.test(n)).sort();
}

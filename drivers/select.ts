// What `kubestrap start` and `kubestrap delete` run: the driver (given, the profile's, or
// minikube's automatic choice) and its recipe with the flags as parameters.
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { profileDir, readState } from '../core/profile.ts';
import type { Driver, StartFlags } from './driver.ts';
import { driverOfRecipe, driverStates, findDriver, noDriverError, startParams, suggestDriver } from './index.ts';

export interface Selection {
  driver: Driver;
  recipe: string;
  params: Record<string, unknown>;
  why: string;
}

export async function selectStart(flags: StartFlags & { driver?: unknown; dryRun?: unknown }, home: string, profile: string): Promise<Selection> {
  const saved = readState(home, profile);
  const savedDriver = saved ? driverOfRecipe(saved.recipe, undefined, saved.params) : undefined;
  let driver: Driver;
  let why: string;
  if (flags.driver) {
    driver = findDriver(String(flags.driver));
    why = 'chosen with --driver';
  } else if (savedDriver) {
    driver = savedDriver;
    why = `the existing profile '${profile}' uses it`;
  } else {
    const states = await driverStates();
    const { pick, alternatives } = suggestDriver(states);
    // A dry run only reads: with no driver to pick, it still shows what the likeliest one would do.
    const usable = (st: (typeof states)[number]) => {
      try {
        startParams(st.driver, flags, {});
        return true;
      } catch {
        return false;
      }
    };
    const fallback = flags.dryRun ? [...alternatives, ...states.filter((st) => st.status.installed)].find(usable) : undefined;
    if (pick) {
      driver = pick;
      why = 'picked automatically: healthy, highest priority';
    } else if (fallback) {
      driver = fallback.driver;
      why = `no driver can be picked automatically, so this dry run shows ${driver.name}${
        fallback.status.healthy ? '' : ` (not usable here: ${fallback.status.reason})`
      }; choose one with --driver`;
    } else throw noDriverError(states);
  }
  // A profile started before keeps its settings (version, runtime, address) unless a flag changes them.
  const base = saved && saved.recipe === driver.startRecipe ? saved.params : {};
  return { driver, recipe: driver.startRecipe, params: { ...base, ...startParams(driver, flags, base) }, why };
}

export function selectDelete(flags: { driver?: unknown }, home: string, profile: string): Selection {
  const saved = readState(home, profile);
  const driver = flags.driver ? findDriver(String(flags.driver)) : saved ? driverOfRecipe(saved.recipe, undefined, saved.params) : undefined;
  if (!driver) {
    throw new UserError('PROFILE_UNKNOWN', `profile '${profile}' has no cluster that kubestrap started`, {
      fix: 'see kubestrap list, or name the driver: kubestrap delete --driver none',
    });
  }
  const started = saved && driverOfRecipe(saved.recipe, undefined, saved.params) === driver ? saved.params : {};
  const params = driver.deleteParams(started, join(profileDir(home, profile), 'backups'));
  return { driver, recipe: driver.deleteRecipe, params, why: saved ? `profile '${profile}' was started with it` : 'chosen with --driver' };
}

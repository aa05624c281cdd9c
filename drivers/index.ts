// The driver registry: lookup by name or alias, status of all, minikube's automatic choice, and
// the option sets recipes take. Everything that lists drivers (help, doctor) reads it from here.
import { didYouMean, UserError } from '../core/errors.ts';
import type { OptionSets } from '../core/recipe.ts';
import { CLUSTER_SET, clusterOptions, clusterSet } from '../options/cluster.ts';
import { type AnyOption, flagKey, flagsToParams, optionSet } from '../options/option.ts';
import type { Driver, DriverStatus, StartFlags } from './driver.ts';
import { PRIORITY, statusWithin } from './driver.ts';
import { none } from './none.ts';
import { ssh } from './ssh.ts';
import { docker } from './docker.ts';
import { podman } from './podman.ts';
import { savedEngine } from './container.ts';
import { kvm2 } from './kvm2.ts';
import { qemu } from './qemu.ts';
import { virtualbox } from './virtualbox.ts';

/** Adding a driver: one file in drivers/ and one entry here. */
export const drivers: readonly Driver[] = [none, ssh, docker, podman, kvm2, qemu, virtualbox];

/** Every spelling `--driver` accepts. */
export function driverNames(list: readonly Driver[] = drivers): string[] {
  return list.flatMap((d) => [d.name, ...d.aliases]);
}

/** What recipes take with `options: [NAME]`: the cluster options, and each driver's own by its name. */
export function optionSets(list: readonly Driver[] = drivers): OptionSets {
  return { [CLUSTER_SET]: clusterSet, ...Object.fromEntries(list.filter((d) => d.options.length).map((d) => [d.name, optionSet(d.options)])) };
}

/** A driver's options and the cluster options: what its start recipe is given. */
export function startOptions(driver: Driver): readonly AnyOption[] {
  return [...clusterOptions, ...driver.options];
}

/** The start recipe's parameters from the flags given (each parsed by its option), over the profile's saved ones. */
export function startParams(driver: Driver, flags: StartFlags, saved: Readonly<Record<string, unknown>>): Record<string, unknown> {
  refuseOtherDriversFlags(driver, flags);
  const given = flagsToParams(startOptions(driver), flags);
  driver.checkStart?.({ ...saved, ...given });
  return { ...given, ...driver.derivedParams?.(given) };
}

/** A flag only other drivers take is refused rather than ignored: `--nodes 3` must not quietly start one node. */
function refuseOtherDriversFlags(driver: Driver, flags: StartFlags, list: readonly Driver[] = drivers): void {
  const own = new Set(startOptions(driver).map((o) => o.flag));
  for (const flag of new Set(list.flatMap((d) => d.options.map((o) => o.flag)))) {
    if (!flag || own.has(flag) || flags[flagKey(flag)] === undefined) continue;
    const takers = list.filter((d) => d.options.some((o) => o.flag === flag)).map((d) => d.name);
    throw new UserError('FLAG_NOT_FOR_DRIVER', `--${flag} is not an option of the ${driver.name} driver`, {
      fix: `drop it, or start with --driver ${takers.join(' or --driver ')}, which take${takers.length === 1 ? 's' : ''} it`,
    });
  }
}

export function findDriver(name: string, list: readonly Driver[] = drivers): Driver {
  const d = list.find((x) => x.name === name || x.aliases.includes(name));
  if (d) return d;
  throw new UserError('DRV_UNSUPPORTED', `unknown driver '${name}'`, {
    fix: didYouMean(name, list.flatMap((x) => [x.name, ...x.aliases])) ?? `drivers: ${list.map((x) => x.name).join(', ')}`,
  });
}

/**
 * The driver whose start or delete recipe this is (for a profile's saved state). docker and podman
 * share their delete and image-load recipes: their saved engine tells them apart.
 */
export function driverOfRecipe(recipe: string, list: readonly Driver[] = drivers, params: Record<string, unknown> = {}): Driver | undefined {
  const container = savedEngine(recipe, params);
  if (container) return list.find((d) => d.name === container.engine);
  return list.find((d) => d.startRecipe === recipe || d.deleteRecipe === recipe);
}

export interface DriverState {
  driver: Driver;
  status: DriverStatus;
}

export async function driverStates(list: readonly Driver[] = drivers, timeoutMs = 8000): Promise<DriverState[]> {
  const states = await Promise.all(list.map(async (driver) => ({ driver, status: await statusWithin(driver, timeoutMs) })));
  return states.sort((a, b) => b.driver.priority - a.driver.priority);
}

/**
 * minikube's choice: the installed, healthy driver of the highest priority, never one at
 * Discouraged or below (no isolation, or it needs flags). Everything else is an alternative
 * (healthy but not preferred) or rejected (with the reason).
 */
export function suggestDriver(states: readonly DriverState[]): { pick?: Driver; alternatives: DriverState[]; rejected: DriverState[] } {
  let pick: DriverState | undefined;
  for (const s of states) {
    if (!s.status.installed || !s.status.healthy || s.driver.priority <= PRIORITY.Discouraged) continue;
    if (!pick || s.driver.priority > pick.driver.priority) pick = s;
  }
  const others = states.filter((s) => s !== pick);
  return {
    ...(pick ? { pick: pick.driver } : {}),
    alternatives: others.filter((s) => s.status.installed && s.status.healthy),
    rejected: others.filter((s) => !s.status.installed || !s.status.healthy),
  };
}

/** The error when nothing can be picked: what each driver said, and how to choose one. */
export function noDriverError(states: readonly DriverState[]): UserError {
  const { alternatives, rejected } = suggestDriver(states);
  const parts = [
    ...alternatives.map((s) => `${s.driver.name} is used only when asked for`),
    ...rejected.map((s) => `${s.driver.name} is ${s.status.installed ? 'not healthy' : 'not installed'}${s.status.reason ? ` (${s.status.reason})` : ''}`),
  ];
  const fix = alternatives.length
    ? `choose one: ${alternatives.map((s) => `--driver ${s.driver.name}`).join(' or ')}`
    : (rejected.find((s) => s.status.fix)?.status.fix ?? 'install a driver');
  return new UserError('DRV_NOT_DETECTED', `no driver can be picked automatically: ${parts.join('; ')}`, { fix });
}

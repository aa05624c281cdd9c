// The container runtimes by name and alias: adding a runtime is one file and one entry here.
import { didYouMean, UserError } from '../core/errors.ts';
import { containerd } from './containerd.ts';
import { crio } from './crio.ts';
import { docker } from './docker.ts';
import type { ContainerRuntime } from './runtime.ts';

export const runtimes: readonly ContainerRuntime[] = [containerd, docker, crio];

/** Every accepted spelling: names, then aliases. */
export const runtimeNames: readonly string[] = [...runtimes.map((r) => r.name), ...runtimes.flatMap((r) => r.aliases)];

export function findRuntime(name: string): ContainerRuntime {
  const found = runtimes.find((r) => r.name === name || r.aliases.includes(name));
  if (found) return found;
  throw new UserError('RUNTIME_UNKNOWN', `unknown container runtime '${name}'`, {
    fix: didYouMean(name, runtimeNames) ?? `choose one of ${runtimes.map((r) => r.name).join(', ')}`,
  });
}

/**
 * The units of the other runtimes, which enabling `me` stops and disables: a runtime `me` uses is
 * left alone, a runtime that uses another is stopped before it (dockerd is a client of the system
 * containerd), and each runtime's sockets go first so socket activation cannot restart a service.
 */
export function otherUnits(me: ContainerRuntime, list: readonly ContainerRuntime[] = runtimes): string[] {
  const others = list.filter((r) => r !== me && !(me.uses ?? []).includes(r.name));
  const usedBy = (r: ContainerRuntime) => others.some((o) => (o.uses ?? []).includes(r.name));
  const ordered = [...others.filter((r) => !usedBy(r)), ...others.filter(usedBy)];
  return ordered.flatMap((r) => [...r.services].sort((a, b) => Number(b.endsWith('.socket')) - Number(a.endsWith('.socket'))));
}

/** Every runtime's downloads, for install-runtime's parameters. */
export const runtimeDownloads = runtimes.flatMap((r) => r.downloads ?? []);

export type { CgroupDriver, ContainerRuntime, RuntimeDownload, RuntimeOptions } from './runtime.ts';

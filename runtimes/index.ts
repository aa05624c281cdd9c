// The container runtimes by name and alias: adding a runtime is one file and one entry here.
import { UserError, didYouMean } from '../core/errors.ts';
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

export type { ContainerRuntime, RuntimeOptions, CgroupDriver } from './runtime.ts';

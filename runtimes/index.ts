// The container runtimes by name and alias, and the pause image each Kubernetes version expects.
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

/**
 * The pause image kubeadm pins per Kubernetes minor (kubeadm's PauseVersion, as minikube's image
 * table lists it): the runtime's sandbox image must match, or kubeadm warns and pods use another.
 *
 *   v1.24 → 3.7   v1.25 → 3.8   v1.26–v1.30 → 3.9   v1.31–v1.33 → 3.10   v1.34–v1.35 → 3.10.1   v1.36 → 3.10.2
 *
 * Newer minors get the newest known tag (`known: false`, so the caller can say so).
 */
const PAUSE: readonly [minMinor: number, tag: string][] = [
  [36, '3.10.2'], [34, '3.10.1'], [31, '3.10'], [26, '3.9'], [25, '3.8'], [24, '3.7'],
];
const NEWEST_KNOWN_MINOR = 36;

export function defaultPauseImage(kubernetesVersion: string): { image: string; known: boolean } {
  const m = /^v?1\.(\d+)\.\d+/.exec(kubernetesVersion);
  const minor = m ? Number(m[1]) : NaN;
  const row = PAUSE.find(([min]) => minor >= min);
  if (!row) {
    throw new UserError('KUBERNETES_VERSION_UNSUPPORTED', `Kubernetes ${kubernetesVersion} is older than v1.24, which kubestrap's runtimes support`, {
      fix: 'use Kubernetes v1.24 or later',
    });
  }
  return { image: `registry.k8s.io/pause:${row[1]}`, known: minor <= NEWEST_KNOWN_MINOR };
}

export type { ContainerRuntime, RuntimeOptions, CgroupDriver } from './runtime.ts';

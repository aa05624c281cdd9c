// Which containerd a Kubernetes minor can run on (containerd's RELEASES.md "Kubernetes Support"),
// and the upstream release kubestrap installs when the distribution's is too old.
import { compareVersions } from './installed.ts';

/** containerd's own static release (bin/containerd, the runc shim, ctr) and the runc it is tested with. */
export const CONTAINERD_RELEASE = '2.3.4';
export const RUNC_RELEASE = '1.4.4';
export const CONTAINERD_RELEASES = 'https://github.com/containerd/containerd/releases/download';
export const RUNC_RELEASES = 'https://github.com/opencontainers/runc/releases/download';

/**
 * The oldest patch of each containerd line a Kubernetes minor is supported on, newest minors first.
 * A minor without a row takes the row of the nearest older one. 1.6 and 2.0 reached end of life
 * (2025) and are not listed from 1.32 and 1.35, nor 1.7 from 1.36; a line newer than every listed
 * one is accepted.
 */
const SUPPORT: readonly [minMinor: number, minimums: readonly string[]][] = [
  [36, ['2.2.0', '2.3.0']],
  [35, ['1.7.28', '2.1.5', '2.2.0']],
  [33, ['1.7.24', '2.0.4', '2.1.0']],
  [32, ['1.7.24', '2.0.1', '2.1.0']],
  [31, ['1.6.34', '1.7.20', '2.0.0']],
  [30, ['1.6.28', '1.7.13', '2.0.0']],
  [29, ['1.6.27', '1.7.11']],
  [26, ['1.6.15', '1.7.0']],
  [24, ['1.6.4', '1.7.0']],
];

const line = (v: string) => v.split('.').slice(0, 2).join('.');

/** The minimums for a Kubernetes minor, e.g. ['1.7.28', '2.1.5', '2.2.0'] for 1.35. */
export function containerdMinimums(kubernetesMinor: number): readonly string[] {
  return (SUPPORT.find(([min]) => kubernetesMinor >= min) ?? SUPPORT[SUPPORT.length - 1]!)[1];
}

/** Whether containerd `version` (x.y.z) is supported for Kubernetes 1.`kubernetesMinor`. */
export function containerdSupports(version: string, kubernetesMinor: number): boolean {
  const mins = containerdMinimums(kubernetesMinor);
  const same = mins.find((m) => line(m) === line(version));
  if (same) return compareVersions(version, same) >= 0;
  const newest = mins[mins.length - 1]!;
  return compareVersions(`${line(version)}.0`, `${line(newest)}.0`) > 0;
}

/** "1.7.28+, 2.1.5+ or 2.2.0+" for messages. */
export function describeMinimums(kubernetesMinor: number): string {
  const m = containerdMinimums(kubernetesMinor).map((v) => `${v}+`);
  return m.length > 1 ? `${m.slice(0, -1).join(', ')} or ${m[m.length - 1]}` : m[0]!;
}

export function kubernetesMinor(version: string): number {
  const m = /^v?1\.(\d+)\./.exec(version);
  return m ? Number(m[1]) : NaN;
}

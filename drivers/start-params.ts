// The start flags every kubeadm-based driver shares, checked before any planning.
import { UserError } from '../core/errors.ts';
import { findRuntime } from '../runtimes/index.ts';
import { parseExtraConfig } from '../tasks/k8s/extra-config.ts';
import { parseKubernetesVersion } from '../tasks/k8s/versions.ts';
import type { StartFlags } from './driver.ts';

export function port(value: number | string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UserError('USAGE', `${flag} ${value} is not a port number`, { fix: 'use 1–65535' });
  return n;
}

export function kubeadmParams(f: StartFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.containerRuntime !== undefined) out.containerRuntime = findRuntime(String(f.containerRuntime)).name;
  if (f.kubernetesVersion !== undefined) out.kubernetesVersion = parseKubernetesVersion(String(f.kubernetesVersion)).text;
  if (f.extraConfig?.length) { parseExtraConfig(f.extraConfig); out.extraConfig = [...f.extraConfig]; }
  if (f.apiserverPort !== undefined) out.apiserverPort = port(f.apiserverPort, '--apiserver-port');
  if (f.binaryMirror !== undefined) out.binaryMirror = url(f.binaryMirror, '--binary-mirror', 'https://dl.k8s.io/release');
  if (f.criToolsMirror !== undefined) out.criToolsMirror = url(f.criToolsMirror, '--cri-tools-mirror', 'https://github.com/kubernetes-sigs/cri-tools/releases/download');
  return out;
}

function url(value: string, flag: string, example: string): string {
  try { new URL(String(value)); } catch { throw new UserError('USAGE', `${flag} ${value} is not a URL`, { fix: `e.g. ${example}` }); }
  return String(value);
}

// Which Kubernetes versions kubestrap can bring up, and what each version implies
// (kubeadm config API, crictl release, kubelet fields). The pause image is the runtime's business
// (runtimes/index.ts).
import { UserError } from '../../core/errors.ts';

export const DEFAULT_KUBERNETES_VERSION = 'v1.31.4';
/** Oldest minor: the first without dockershim, so every runtime goes through a CRI socket. */
export const OLDEST_MINOR = 24;
export const NEWEST_MINOR = 35;

export interface KubeVersion {
  minor: number;
  patch: number;
  /** Always with the leading v, e.g. v1.31.4. */
  text: string;
}

export function parseKubernetesVersion(input: string): KubeVersion {
  const m = /^v?1\.(\d+)\.(\d+)$/.exec(String(input).trim());
  if (!m) {
    throw new UserError('K8S_VERSION_INVALID', `--kubernetes-version ${JSON.stringify(input)} is not a Kubernetes release version`, { fix: `write it like ${DEFAULT_KUBERNETES_VERSION}` });
  }
  const minor = Number(m[1]);
  const patch = Number(m[2]);
  if (minor < OLDEST_MINOR || minor > NEWEST_MINOR) {
    throw new UserError('K8S_VERSION_UNSUPPORTED', `Kubernetes v1.${minor} is not supported`, { fix: `use a version from v1.${OLDEST_MINOR}.0 to v1.${NEWEST_MINOR}.x, e.g. ${DEFAULT_KUBERNETES_VERSION}` });
  }
  return { minor, patch, text: `v1.${minor}.${patch}` };
}

/** kubeadm's config API: v1beta3 from 1.23, v1beta4 from 1.31. */
export function kubeadmApiVersion(v: KubeVersion): 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4' {
  return v.minor >= 31 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
}

/** cri-tools releases one crictl per Kubernetes minor. */
export function crictlVersion(v: KubeVersion): string {
  return `v1.${v.minor}.0`;
}

/** KubeletConfiguration.containerRuntimeEndpoint exists from 1.27 (a flag before). */
export function kubeletConfigHasRuntimeEndpoint(v: KubeVersion): boolean {
  return v.minor >= 27;
}

/** `kubeadm config validate` exists from 1.26. */
export function kubeadmCanValidate(v: KubeVersion): boolean {
  return v.minor >= 26;
}

/** Debian/Go architecture names from `uname -m`. */
export function goArch(machine: string): 'amd64' | 'arm64' {
  const m = machine.trim();
  if (m === 'x86_64' || m === 'amd64') return 'amd64';
  if (m === 'aarch64' || m === 'arm64') return 'arm64';
  throw new UserError('ARCH_UNSUPPORTED', `the machine's architecture ${JSON.stringify(m)} is not supported`, { fix: 'kubestrap installs Kubernetes on x86_64 and aarch64 machines' });
}

// Which Kubernetes versions kubestrap can bring up, and everything a version implies (kubeadm
// config API, pause image, crictl release, CRI-O stream, kubelet fields). The data is the table
// below: supporting a new minor is an edit there and nowhere else.
import { UserError } from '../../core/errors.ts';

/** The newest stable patch release known to kubestrap (1.37.1, 2026-09-15); `stable` asks dl.k8s.io. */
export const DEFAULT_KUBERNETES_VERSION = 'v1.37.1';
/** Oldest minor: the first without dockershim, so every runtime goes through a CRI socket. */
export const OLDEST_MINOR = 24;
export const NEWEST_MINOR = 37;
/** The minors upstream still patches, with their end of life (kubernetes.io/releases, 2026-12). */
export const SUPPORTED_MINORS: readonly [minor: number, endOfLife: string][] = [[37, '2027-10-28'], [36, '2027-06-28'], [35, '2027-02-28']];

/**
 * The pause image kubeadm pins per minor (kubeadm's PauseVersion, as minikube's image table lists
 * it), newest first, each row "from this minor on": the runtime's sandbox image must match
 * (1.37 keeps 1.36's 3.10.2).
 */
const PAUSE: readonly [fromMinor: number, tag: string][] = [
  [36, '3.10.2'],
  [34, '3.10.1'],
  [31, '3.10'],
  [26, '3.9'],
  [25, '3.8'],
  [24, '3.7'],
];
/** kubeadm's config API v1beta4 from this minor (v1beta3 before). */
const KUBEADM_V1BETA4_FROM = 31;
/** CRI-O publishes one package stream per minor on pkgs.k8s.io from this minor. */
const CRIO_STREAMS_FROM = 28;

export interface KubeVersion {
  minor: number;
  patch: number;
  /** Always with the leading v, e.g. v1.31.4. */
  text: string;
}

/** The one check of a Kubernetes version: the CLI flag, recipe parameters and tasks all call it. */
export function parseKubernetesVersion(input: unknown): KubeVersion {
  const m = /^v?1\.(\d+)\.(\d+)$/.exec(String(input).trim());
  if (!m) {
    throw new UserError('K8S_VERSION_INVALID', `${JSON.stringify(input)} is not a Kubernetes release version`, {
      fix: `write it like ${DEFAULT_KUBERNETES_VERSION}`,
    });
  }
  const minor = Number(m[1]);
  const patch = Number(m[2]);
  if (minor < OLDEST_MINOR || minor > NEWEST_MINOR) {
    throw new UserError('K8S_VERSION_UNSUPPORTED', `Kubernetes v1.${minor} is not supported`, {
      fix: `use a version from v1.${OLDEST_MINOR}.0 to v1.${NEWEST_MINOR}.x, e.g. ${DEFAULT_KUBERNETES_VERSION}`,
    });
  }
  return { minor, patch, text: `v1.${minor}.${patch}` };
}

/** Whether upstream still publishes patches for this minor (older ones work, without fixes). */
export function upstreamSupported(v: KubeVersion): boolean {
  return SUPPORTED_MINORS.some(([m]) => m === v.minor);
}

/**
 * `stable` and `latest` as dl.k8s.io names them (BASE/stable.txt, BASE/latest.txt under the binary
 * mirror), anything else as given. Unreachable: a one-line error naming the URL (exit 2).
 */
export async function resolveKubernetesVersion(input: string, binaryMirror: string, fetchText: (url: string) => Promise<string>): Promise<string> {
  const word = input.trim();
  if (word !== 'stable' && word !== 'latest') return parseKubernetesVersion(word).text;
  const url = `${binaryMirror.replace(/\/+$/, '')}/${word}.txt`;
  let text: string;
  try {
    text = (await fetchText(url)).trim();
  } catch (e) {
    throw new UserError('K8S_VERSION_UNRESOLVED', `--kubernetes-version ${word}: could not fetch ${url} (${(e as Error).message})`, {
      fix: `give an exact version instead, e.g. ${DEFAULT_KUBERNETES_VERSION}`,
    });
  }
  if (!/^v1\.\d+\.\d+$/.test(text)) {
    throw new UserError(
      'K8S_VERSION_UNRESOLVED',
      `--kubernetes-version ${word}: ${url} names ${JSON.stringify(text.slice(0, 40))}, not a released version kubestrap brings up`,
      { fix: `give an exact version instead, e.g. ${DEFAULT_KUBERNETES_VERSION}` },
    );
  }
  return parseKubernetesVersion(text).text;
}

/** From this minor the kubelet refuses cgroup v1 unless KubeletConfiguration.failCgroupV1 is false. */
export const CGROUP_V1_REFUSED_FROM = 35;

/** KubeletConfiguration.failCgroupV1 exists from 1.31. */
export function kubeletConfigHasFailCgroupV1(v: KubeVersion): boolean {
  return v.minor >= 31;
}

/** kubeadm's config API. */
export function kubeadmApiVersion(v: KubeVersion): 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4' {
  return v.minor >= KUBEADM_V1BETA4_FROM ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
}

/** The pause image kubeadm expects for this version. */
export function pauseImage(v: KubeVersion): string {
  return `registry.k8s.io/pause:${PAUSE.find(([from]) => v.minor >= from)![1]}`;
}

/** cri-tools releases one crictl per Kubernetes minor. */
export function crictlVersion(v: KubeVersion): string {
  return `v1.${v.minor}.0`;
}

/** cri-tools' release tarball of crictl for a version and architecture. */
export function crictlTarball(version: string, arch: string): string {
  return `crictl-${version}-linux-${arch}.tar.gz`;
}

/** The CRI-O package stream for this version, or undefined when CRI-O publishes none. */
export function crioStream(v: KubeVersion): string | undefined {
  return v.minor >= CRIO_STREAMS_FROM ? `v1.${v.minor}` : undefined;
}
export const CRIO_OLDEST_STREAM = `v1.${CRIO_STREAMS_FROM}`;

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
  throw new UserError('ARCH_UNSUPPORTED', `the machine's architecture ${JSON.stringify(m)} is not supported`, {
    fix: 'kubestrap installs Kubernetes on x86_64 and aarch64 machines',
  });
}

// The pod network: minikube's --cni choices, the CNI plugins release every choice needs (the runtime
// runs `loopback` for every pod), the bridge configuration for one node, and the manifests of the
// multi-node CNIs, applied after kubeadm init.
import { didYouMean, UserError } from '../../core/errors.ts';
import { NODE_DIR } from './paths.ts';

/** Where containerd, cri-dockerd and CRI-O look for plugins and configurations. */
export const CNI_BIN_DIR = '/opt/cni/bin';
export const CNI_CONF_DIR = '/etc/cni/net.d';
/** Named to sort first: the runtime takes the first configuration in CNI_CONF_DIR. */
export const BRIDGE_CONFLIST = `${CNI_CONF_DIR}/1-kubestrap-bridge.conflist`;
export const BRIDGE_NAME = 'kubestrap0';
/** kubestrap's copy of the plugins release, of the CNI manifest and of the bridge configuration, on the node. */
export const CNI_DIR = `${NODE_DIR}/cni`;
export const CNI_MANIFEST = `${CNI_DIR}/manifest.yaml`;
/**
 * containerd makes /etc/cni/net.d readable by root only, and a plan never reads as root: a plan by
 * another user compares this copy instead, and delete knows from it that the configuration is ours.
 */
export const BRIDGE_COPY = `${CNI_DIR}/${BRIDGE_CONFLIST.split('/').pop()}`;

/**
 * The containernetworking/plugins release, installed from its published tarball (checksummed by the
 * .sha256 file beside it, cached like the Kubernetes binaries) rather than the distribution's package:
 * Debian 12 ships 1.1.1 from 2022 in /usr/lib/cni, and other distributions differ again.
 */
export const CNI_PLUGINS_VERSION = 'v1.9.1';
export const DEFAULT_CNI_PLUGINS_MIRROR = 'https://github.com/containernetworking/plugins/releases/download';
/** The plugins taken from the release: what the bridge configuration, portmap and the CNIs below call. */
export const CNI_PLUGINS = ['bandwidth', 'bridge', 'firewall', 'host-local', 'loopback', 'portmap', 'tuning'] as const;

export function cniPluginsTarball(arch: string): string {
  return `cni-plugins-linux-${arch}-${CNI_PLUGINS_VERSION}.tgz`;
}

/**
 * Where a CNI's agent is told which interface carries the traffic between nodes, when that is not
 * the default route's: the variable it reads, set to pick the interface whose route reaches an address.
 */
export interface InterfaceChoice {
  namespace: string;
  daemonset: string;
  container: string;
  env: (reach: string) => string;
}

const FLANNEL = 'v0.28.9';
const CALICO = 'v3.32.1';
const CILIUM = 'v1.20.0';

/** Multi-node CNIs: one release manifest each (their projects publish no checksum for it). */
export const MANIFESTS: Record<'flannel' | 'calico' | 'cilium', { version: string; url: string; iface?: InterfaceChoice }> = {
  flannel: {
    version: FLANNEL,
    url: `https://github.com/flannel-io/flannel/releases/download/${FLANNEL}/kube-flannel.yml`,
    // flanneld takes each flag from FLANNELD_<FLAG> as well.
    iface: { namespace: 'kube-flannel', daemonset: 'kube-flannel-ds', container: 'kube-flannel', env: (ip) => `FLANNELD_IFACE_CAN_REACH=${ip}` },
  },
  calico: {
    version: CALICO,
    url: `https://raw.githubusercontent.com/projectcalico/calico/${CALICO}/manifests/calico.yaml`,
    iface: { namespace: 'kube-system', daemonset: 'calico-node', container: 'calico-node', env: (ip) => `IP_AUTODETECTION_METHOD=can-reach=${ip}` },
  },
  // Cilium uses each node's Kubernetes address (the kubelet's --node-ip).
  cilium: { version: CILIUM, url: `https://raw.githubusercontent.com/cilium/cilium/${CILIUM}/install/kubernetes/quick-install.yaml` },
};

export const CNI_NAMES = ['auto', 'bridge', 'flannel', 'calico', 'cilium', 'false'] as const;

export type Cni =
  | { kind: 'bridge' }
  | { kind: 'none' }
  | { kind: 'manifest'; name: keyof typeof MANIFESTS; url: string }
  | { kind: 'file'; path: string };

/** minikube's --cni: a name, or a path to a manifest (anything with a slash or a YAML/JSON ending). */
export function parseCni(value: unknown, nodes = 1): Cni {
  const v = String(value ?? '').trim();
  if (v.includes('/') || /\.(ya?ml|json)$/.test(v)) {
    if (!v.startsWith('/')) {
      throw new UserError('CNI_INVALID', `--cni ${v}: a manifest path must be absolute here`, {
        fix: 'kubestrap start resolves a relative path; in a recipe give an absolute one',
      });
    }
    return { kind: 'file', path: v };
  }
  switch (v) {
    // minikube: bridge for one node, a CNI that spans nodes for more.
    case 'auto':
    case '':
      return nodes > 1 ? { kind: 'manifest', name: 'flannel', url: MANIFESTS.flannel.url } : { kind: 'bridge' };
    case 'bridge':
      return { kind: 'bridge' };
    case 'false':
      return { kind: 'none' };
    case 'flannel':
    case 'calico':
    case 'cilium':
      return { kind: 'manifest', name: v, url: MANIFESTS[v].url };
  }
  throw new UserError('CNI_INVALID', `--cni ${JSON.stringify(v)} is not a CNI kubestrap knows`, {
    fix: didYouMean(v, CNI_NAMES) ?? `use ${CNI_NAMES.join(', ')}, or the path of a CNI manifest`,
  });
}

/**
 * The bridge configuration (one node): pods on a Linux bridge with addresses from the pod subnet,
 * the node as their gateway and masquerading outbound traffic; portmap for hostPort.
 */
export function bridgeConflist(podSubnet: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'kubestrap-bridge',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE_NAME,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: podSubnet }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  ) + '\n';
}

/** An IPv4 CIDR, checked (the bridge and kubeadm both read it). */
export function parseCidr(value: string, what: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value.trim());
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 30 || Number(m[5]) < 8) {
    throw new UserError('CIDR_INVALID', `${what} ${JSON.stringify(value)} is not an IPv4 network like 10.244.0.0/16`);
  }
  return value.trim();
}

/** The N-th address of an IPv4 subnet (1: the first host); an error when the subnet has none. */
export function hostOf(cidr: string, n: number, what: string): string {
  const [ip, bits] = parseCidr(cidr, what).split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  if (n < 1 || n >= size - 1) throw new UserError('CIDR_INVALID', `${what} ${cidr} has no host number ${n}`, { fix: 'use a larger subnet, e.g. a /24' });
  const base = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const host = base - (base % size) + n;
  return [24, 16, 8, 0].map((s) => Math.floor(host / 2 ** s) % 256).join('.');
}

// Where kubestrap puts a cluster on its machine. Everything kubestrap creates lives under these
// paths, so `delete` can list and erase exactly them.

/** kubestrap's own directory on the node: binaries, kubeadm config, certificates, etcd data, the claim. */
export const NODE_DIR = '/var/lib/kubestrap';
export const CLAIM_FILE = `${NODE_DIR}/cluster.json`;
export const KUBEADM_CONFIG = `${NODE_DIR}/kubeadm.yaml`;
export const CERTS_DIR = `${NODE_DIR}/certs`;
export const ETCD_DIR = `${NODE_DIR}/etcd`;
/** A copy of the resolver file when the kubelet must not read the host's one as it is. */
export const KUBELET_RESOLV_CONF = `${NODE_DIR}/resolv.conf`;

export function binDir(version: string): string {
  return `${NODE_DIR}/binaries/${version}`;
}

export const KUBELET_UNIT = '/etc/systemd/system/kubelet.service';
export const KUBELET_DROPIN_DIR = '/etc/systemd/system/kubelet.service.d';
export const KUBELET_DROPIN = `${KUBELET_DROPIN_DIR}/10-kubeadm.conf`;
export const MODULES_FILE = '/etc/modules-load.d/kubestrap.conf';
export const SYSCTL_FILE = '/etc/sysctl.d/99-kubestrap.conf';

/** Written by kubeadm init / kubeadm reset. */
export const KUBERNETES_DIR = '/etc/kubernetes';
export const ADMIN_CONF = '/etc/kubernetes/admin.conf';
export const KUBELET_DIR = '/var/lib/kubelet';

/**
 * What kubeadm init writes with kubestrap's configuration: kubeconfigs, static pod manifests, the
 * certificates and etcd data (under NODE_DIR, as configured) and the kubelet's files.
 */
export function kubeadmInitWrites(v: { minor: number }): string[] {
  const confs = ['admin', ...(v.minor >= 29 ? ['super-admin'] : []), 'kubelet', 'controller-manager', 'scheduler'];
  return [
    ...confs.map((c) => `${KUBERNETES_DIR}/${c}.conf`),
    ...['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((m) => `${KUBERNETES_DIR}/manifests/${m}.yaml`),
    CERTS_DIR,
    ETCD_DIR,
    `${KUBELET_DIR}/config.yaml`,
    `${KUBELET_DIR}/kubeadm-flags.env`,
    // NodeLocalCRISocket (beta and on by default from 1.34): the node's CRI socket, for the kubelet.
    ...(v.minor >= 34 ? [`${KUBELET_DIR}/instance-config.yaml`] : []),
  ];
}

/** What kubeadm join writes on a worker: its kubeconfig, the cluster's CA and the kubelet's settings. */
export function kubeadmJoinWrites(v: { minor: number }): string[] {
  return [
    `${KUBERNETES_DIR}/kubelet.conf`,
    `${KUBERNETES_DIR}/pki/ca.crt`,
    `${KUBELET_DIR}/config.yaml`,
    `${KUBELET_DIR}/kubeadm-flags.env`,
    ...(v.minor >= 34 ? [`${KUBELET_DIR}/instance-config.yaml`] : []),
  ];
}

/** What kubeadm reset erases: the kubeconfigs, the static pods, the kubelet's state, certificates and etcd data. */
export const KUBEADM_RESET_ERASES = [
  ...['admin', 'super-admin', 'kubelet', 'bootstrap-kubelet', 'controller-manager', 'scheduler'].map((c) => `${KUBERNETES_DIR}/${c}.conf`),
  `${KUBERNETES_DIR}/manifests/*`,
  `${KUBELET_DIR}/*`,
  `${CERTS_DIR}/*`,
  `${ETCD_DIR}/*`,
];

/** PATH for kubeadm: our versioned binaries first (kubeadm looks up crictl there), then the system's. */
export function kubeadmPath(dir: string): string {
  return `PATH=${dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

/** The kubeconfig context kubeadm writes for a cluster named after the profile. */
export function adminContext(profile: string): string {
  return `kubernetes-admin@${profile}`;
}

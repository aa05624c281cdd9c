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

/** PATH for kubeadm: our versioned binaries first (kubeadm looks up crictl there), then the system's. */
export function kubeadmPath(dir: string): string {
  return `PATH=${dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

/** The kubeconfig context kubeadm writes for a cluster named after the profile. */
export function adminContext(profile: string): string {
  return `kubernetes-admin@${profile}`;
}

// The kubeadm configuration for one node: InitConfiguration, ClusterConfiguration,
// KubeletConfiguration and KubeProxyConfiguration, in the API version the Kubernetes version reads.
import { stringify } from 'yaml';
import { kubeadmApiVersion, kubeletConfigHasRuntimeEndpoint, type KubeVersion } from './versions.ts';
import { kubeadmSetting, type ExtraConfig } from './extra-config.ts';
import { CERTS_DIR, ETCD_DIR } from './paths.ts';

export interface KubeadmConfigInput {
  version: KubeVersion;
  clusterName: string;
  nodeIp: string;
  apiserverPort: number;
  /** unix:///… */
  criSocket: string;
  cgroupDriver: 'systemd' | 'cgroupfs';
  resolvConf: string;
  extra: ExtraConfig;
}

export const DEFAULT_POD_SUBNET = '10.244.0.0/16';
export const DEFAULT_SERVICE_SUBNET = '10.96.0.0/12';

type Args = [string, string][];

/** v1beta3 writes extra arguments as a map, v1beta4 as a list of {name, value}. */
function args(v: KubeVersion, list: Args): Record<string, string> | { name: string; value: string }[] {
  return v.minor >= 31 ? list.map(([name, value]) => ({ name, value })) : Object.fromEntries(list);
}

/** kube-proxy settings are fields of its configuration: true/false and numbers keep their type. */
function typed(value: string): string | number | boolean {
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^-?\d+$/.test(value)) return Number(value);
  return value;
}

export function renderKubeadmConfig(i: KubeadmConfigInput): string {
  const api = kubeadmApiVersion(i.version);
  const podSubnet = kubeadmSetting(i.extra, 'pod-network-cidr') ?? DEFAULT_POD_SUBNET;
  const serviceSubnet = kubeadmSetting(i.extra, 'service-cidr') ?? DEFAULT_SERVICE_SUBNET;
  const withArgs = (list: Args) => (list.length ? { extraArgs: args(i.version, list) } : {});

  const init = {
    apiVersion: api,
    kind: 'InitConfiguration',
    localAPIEndpoint: { advertiseAddress: i.nodeIp, bindPort: i.apiserverPort },
    nodeRegistration: {
      criSocket: i.criSocket,
      imagePullPolicy: 'IfNotPresent',
      kubeletExtraArgs: args(i.version, [['node-ip', i.nodeIp]]),
      // One node runs everything: no control-plane taint.
      taints: [],
    },
  };
  const cluster = {
    apiVersion: api,
    kind: 'ClusterConfiguration',
    clusterName: i.clusterName,
    kubernetesVersion: i.version.text,
    controlPlaneEndpoint: `${i.nodeIp}:${i.apiserverPort}`,
    // Certificates and etcd data live under kubestrap's directory, so delete erases exactly them.
    certificatesDir: CERTS_DIR,
    etcd: { local: { dataDir: ETCD_DIR, ...withArgs(i.extra.etcd) } },
    networking: { dnsDomain: 'cluster.local', podSubnet, serviceSubnet },
    apiServer: { certSANs: ['127.0.0.1', 'localhost', i.nodeIp], ...withArgs(i.extra.apiserver) },
    controllerManager: { ...withArgs(i.extra['controller-manager']) },
    scheduler: { ...withArgs(i.extra.scheduler) },
  };
  const kubelet = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: i.cgroupDriver,
    ...(kubeletConfigHasRuntimeEndpoint(i.version) ? { containerRuntimeEndpoint: i.criSocket } : {}),
    resolvConf: i.resolvConf,
    staticPodPath: '/etc/kubernetes/manifests',
    // Swap stays the machine owner's decision (kubeadm's Swap check is skipped to match).
    failSwapOn: false,
    // The runtime's images may be the user's own (docker runtime): never garbage-collect them,
    // and do not evict pods because the developer's disk is fuller than a server's would be.
    imageGCHighThresholdPercent: 100,
    evictionHard: { 'nodefs.available': '0%', 'nodefs.inodesFree': '0%', 'imagefs.available': '0%' },
  };
  const proxy = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clusterCIDR: podSubnet,
    // 0 leaves the machine's own nf_conntrack settings alone.
    conntrack: { maxPerCore: 0 },
    ...Object.fromEntries(i.extra['kube-proxy'].map(([k, v]) => [k, typed(v)])),
  };
  const header = `# kubeadm configuration written by kubestrap (cluster ${i.clusterName}, Kubernetes ${i.version.text}, ${api.split('/')[1]}).\n`;
  return header + [init, cluster, kubelet, proxy].map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
}

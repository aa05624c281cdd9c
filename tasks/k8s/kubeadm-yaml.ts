// The kubeadm configuration for one node: InitConfiguration, ClusterConfiguration,
// KubeletConfiguration and KubeProxyConfiguration, in the API version the Kubernetes version reads.
import { stringify } from 'yaml';
import { kubeadmApiVersion, kubeletConfigHasFailCgroupV1, kubeletConfigHasRuntimeEndpoint, type KubeVersion } from './versions.ts';
import { proxyValue } from './kube-proxy-fields.ts';
import { type ExtraConfig, kubeadmSetting } from './extra-config.ts';
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
  /** The node's cgroup version (preflight): on v1 the kubelet must be told to accept it. */
  cgroupVersion?: 1 | 2;
  /** The stable name the control plane is reached by (an /etc/hosts entry on the node). */
  controlPlaneName?: string;
}

export const DEFAULT_POD_SUBNET = '10.244.0.0/16';
export const DEFAULT_SERVICE_SUBNET = '10.96.0.0/12';

type Args = [string, string][];

/** v1beta3 writes extra arguments as a map, v1beta4 as a list of {name, value}. */
function args(v: KubeVersion, list: Args): Record<string, string> | { name: string; value: string }[] {
  return v.minor >= 31 ? list.map(([name, value]) => ({ name, value })) : Object.fromEntries(list);
}

/** Sets a.b.c in nested objects, keeping what is there (the defaults above). */
function setDotted(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let at = target;
  for (const part of parts.slice(0, -1)) {
    if (!at[part] || typeof at[part] !== 'object') at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
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
    // A name, not the address: a changed DHCP address then breaks neither certificates nor kubeconfigs.
    controlPlaneEndpoint: `${i.controlPlaneName ?? i.nodeIp}:${i.apiserverPort}`,
    // Certificates and etcd data live under kubestrap's directory, so delete erases exactly them.
    certificatesDir: CERTS_DIR,
    etcd: { local: { dataDir: ETCD_DIR, ...withArgs(i.extra.etcd) } },
    networking: { dnsDomain: 'cluster.local', podSubnet, serviceSubnet },
    apiServer: { certSANs: ['127.0.0.1', 'localhost', i.nodeIp, ...(i.controlPlaneName ? [i.controlPlaneName] : [])], ...withArgs(i.extra.apiserver) },
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
    // The kubelet refuses cgroup v1 from 1.35 unless this is false; on cgroup v2 it changes nothing,
    // so it is set wherever the field exists (a machine a step creates is planned before it can be asked).
    ...(kubeletConfigHasFailCgroupV1(i.version) ? { failCgroupV1: false } : {}),
  };
  const proxy = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clusterCIDR: podSubnet,
    // Zeros leave the machine's own nf_conntrack settings alone: table size and TCP timeouts (as minikube does).
    conntrack: { maxPerCore: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  };
  for (const [key, value] of i.extra['kube-proxy']) setDotted(proxy, key, proxyValue(key, value));
  const header = `# kubeadm configuration written by kubestrap (cluster ${i.clusterName}, Kubernetes ${i.version.text}, ${api.split('/')[1]}).\n`;
  return header + [init, cluster, kubelet, proxy].map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
}

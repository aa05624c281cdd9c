// The options every kubeadm cluster takes, whatever the driver. Each default is written here only;
// drivers add their own entries (drivers/ssh.ts: --ssh-*), recipes take them with `options: [cluster]`.
import { UserError } from '../core/errors.ts';
import { findRuntime, runtimes } from '../runtimes/index.ts';
import { parseExtraConfig } from '../tasks/k8s/extra-config.ts';
import { DEFAULT_KUBERNETES_VERSION, parseKubernetesVersion } from '../tasks/k8s/versions.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_CNI_PLUGINS_MIRROR, parseCni } from '../tasks/k8s/cni.ts';
import { defineOption, optionSet } from './option.ts';
import { flag, port, url, wholeNumber } from './parsers.ts';
import { CONTAINERD_RELEASES, RUNC_RELEASES } from '../runtimes/containerd-support.ts';

export const DEFAULT_BINARY_MIRROR = 'https://dl.k8s.io/release';
export const DEFAULT_CRI_TOOLS_MIRROR = 'https://github.com/kubernetes-sigs/cri-tools/releases/download';

export const containerRuntime = defineOption({
  flag: 'container-runtime',
  key: 'containerRuntime',
  type: 'string',
  default: 'containerd',
  arg: 'runtime',
  help: `The container runtime: ${runtimes.map((r) => r.name).join(', ')}`,
  parse: (v) => findRuntime(String(v)),
  toParam: (r) => r.name,
});

export const kubernetesVersion = defineOption({
  flag: 'kubernetes-version',
  key: 'kubernetesVersion',
  type: 'string',
  default: DEFAULT_KUBERNETES_VERSION,
  arg: 'version',
  help: 'The Kubernetes version: v1.MINOR.PATCH, or stable or latest (as dl.k8s.io names them, resolved once)',
  parse: parseKubernetesVersion,
  toParam: (v) => v.text,
});

export const extraConfig = defineOption({
  flag: 'extra-config',
  key: 'extraConfig',
  type: 'string[]',
  default: [],
  arg: 'component.key=value',
  help: 'A component setting, e.g. kubelet.max-pods=50 (repeatable)',
  parse: (v) => {
    const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? (v === '' ? [] : v.split(',')) : undefined;
    if (!list) throw new UserError('EXTRA_CONFIG_INVALID', `${JSON.stringify(v)} is not a list of component.key=value`);
    parseExtraConfig(list);
    return list;
  },
});

export const apiserverPort = defineOption({
  flag: 'apiserver-port',
  key: 'apiserverPort',
  type: 'number',
  default: 8443,
  arg: 'port',
  help: "The API server's port",
  parse: port,
});

export const binaryMirror = defineOption({
  flag: 'binary-mirror',
  key: 'binaryMirror',
  type: 'string',
  default: DEFAULT_BINARY_MIRROR,
  arg: 'url',
  help: 'Where kubelet, kubeadm and kubectl are downloaded from: BASE/VERSION/bin/linux/ARCH/NAME (+ .sha256)',
  parse: url(DEFAULT_BINARY_MIRROR),
});

export const criToolsMirror = defineOption({
  flag: 'cri-tools-mirror',
  key: 'criToolsMirror',
  type: 'string',
  default: DEFAULT_CRI_TOOLS_MIRROR,
  arg: 'url',
  help: 'Where crictl is downloaded from: BASE/VERSION/crictl-VERSION-linux-ARCH.tar.gz (+ .sha256)',
  parse: url(DEFAULT_CRI_TOOLS_MIRROR),
});

export const containerdMirror = defineOption({
  flag: 'containerd-mirror',
  key: 'containerdMirror',
  type: 'string',
  default: CONTAINERD_RELEASES,
  arg: 'url',
  help: "Where containerd's release comes from when the distribution's is too old: BASE/vVERSION/containerd-VERSION-linux-ARCH.tar.gz (+ .sha256sum)",
  parse: url(CONTAINERD_RELEASES),
});

export const runcMirror = defineOption({
  flag: 'runc-mirror',
  key: 'runcMirror',
  type: 'string',
  default: RUNC_RELEASES,
  arg: 'url',
  help: 'Where runc comes from with that release: BASE/vVERSION/runc.ARCH (+ runc.sha256sum)',
  parse: url(RUNC_RELEASES),
});

export const allowPackageChanges = defineOption({
  flag: 'allow-package-changes',
  key: 'allowPackageChanges',
  type: 'boolean',
  default: false,
  help: 'Let package transactions remove or downgrade packages, and replace a runtime kubestrap did not install (blocked otherwise)',
  parse: flag,
});

export const cni = defineOption({
  flag: 'cni',
  key: 'cni',
  type: 'string',
  default: 'auto',
  arg: 'cni',
  help: 'The pod network: auto (bridge for one node), bridge, flannel, calico, cilium, false, or a CNI manifest file',
  parse: cniValue,
});

export const cniPluginsMirror = defineOption({
  flag: 'cni-plugins-mirror',
  key: 'cniPluginsMirror',
  type: 'string',
  default: DEFAULT_CNI_PLUGINS_MIRROR,
  arg: 'url',
  help: 'Where the CNI plugins are downloaded from: BASE/VERSION/cni-plugins-linux-ARCH-VERSION.tgz (+ .sha256)',
  parse: url(DEFAULT_CNI_PLUGINS_MIRROR),
});

/** A name as given; a manifest path made absolute (against the working directory) and checked to exist. */
function cniValue(v: unknown): string {
  const text = String(v ?? '');
  const chosen = parseCni(/[/]|\.(ya?ml|json)$/.test(text) ? resolve(text) : text);
  if (chosen.kind !== 'file') return text;
  if (!existsSync(chosen.path)) {
    throw new UserError('CNI_INVALID', `--cni ${text}: ${chosen.path} does not exist`, {
      fix: 'give the path of a CNI manifest (YAML), or one of auto, bridge, flannel, calico, cilium, false',
    });
  }
  return chosen.path;
}

/** A recipe setting without a flag (minikube's --wait-timeout is a duration, not seconds). */
export const waitTimeout = defineOption({
  key: 'waitTimeout',
  type: 'number',
  default: 300,
  help: 'Seconds to wait for the API server',
  parse: wholeNumber(1),
});

export const clusterOptions = [
  containerRuntime,
  kubernetesVersion,
  apiserverPort,
  extraConfig,
  cni,
  binaryMirror,
  criToolsMirror,
  cniPluginsMirror,
  containerdMirror,
  runcMirror,
  allowPackageChanges,
  waitTimeout,
] as const;

export const CLUSTER_SET = 'cluster';
export const clusterSet = optionSet(clusterOptions);

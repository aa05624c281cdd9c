// Fake but well-formed published checksums, seeded into a test's download cache, so golden plans
// made offline and online are the same (shared by the drivers' golden plan suites).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { downloadCachePath, sha256 } from '../../core/context.ts';
import { CONTAINERD_RELEASE, CONTAINERD_RELEASES, RUNC_RELEASE, RUNC_RELEASES } from '../../runtimes/containerd-support.ts';
import { CNI_PLUGINS_VERSION, cniPluginsTarball, DEFAULT_CNI_PLUGINS_MIRROR } from '../../tasks/k8s/cni.ts';
import { crictlVersion, DEFAULT_KUBERNETES_VERSION, parseKubernetesVersion } from '../../tasks/k8s/versions.ts';

export function seedChecksums(
  home: string,
  version = DEFAULT_KUBERNETES_VERSION,
  binaryMirror = 'https://dl.k8s.io/release',
  criTools = 'https://github.com/kubernetes-sigs/cri-tools/releases/download',
): void {
  const cache = join(home, 'cache', 'downloads');
  const cv = crictlVersion(parseKubernetesVersion(version));
  const urls = [
    ...['kubelet', 'kubeadm', 'kubectl'].map((b) => `${binaryMirror}/${version}/bin/linux/amd64/${b}.sha256`),
    `${criTools}/${cv}/crictl-${cv}-linux-amd64.tar.gz.sha256`,
    `${DEFAULT_CNI_PLUGINS_MIRROR}/${CNI_PLUGINS_VERSION}/${cniPluginsTarball('amd64')}.sha256`,
  ];
  for (const url of urls) {
    const path = downloadCachePath(cache, url);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, sha256(`stand-in for ${url.replace(/\.sha256$/, '')}`) + '\n');
  }
  // containerd's static release and runc publish sha256sum files ("HASH  NAME").
  const containerd = `${CONTAINERD_RELEASES}/v${CONTAINERD_RELEASE}/containerd-${CONTAINERD_RELEASE}-linux-amd64.tar.gz`;
  const runc = `${RUNC_RELEASES}/v${RUNC_RELEASE}`;
  const texts: [string, string][] = [
    [`${containerd}.sha256sum`, `${sha256(`stand-in for ${containerd}`)}  containerd-${CONTAINERD_RELEASE}-linux-amd64.tar.gz\n`],
    [`${runc}/runc.sha256sum`, ['amd64', 'arm64'].map((a) => `${sha256(`stand-in for runc.${a}`)}  runc.${a}\n`).join('')],
  ];
  for (const [url, text] of texts) {
    const path = downloadCachePath(cache, url);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

// TEST DOUBLE for dl.k8s.io and the cri-tools releases: a loopback HTTP server with stand-in
// kubelet, kubeadm, kubectl and a crictl release tarball, each beside a .sha256 file holding its
// real checksum — the layout install-kubernetes downloads from. Kubernetes binaries cannot be
// downloaded on these machines; the stand-ins are small shell scripts that say what they are. The
// stand-in kubeadm's init and reset write and erase exactly the paths kubestrap declares for them,
// so the run's comparison of declared and real writes is checked against a command that obeys it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CONTAINERD_RELEASE, RUNC_RELEASE } from '../../runtimes/containerd-support.ts';
import { KUBEADM_RESET_ERASES, kubeadmInitWrites } from '../../tasks/k8s/paths.ts';
import { parseKubernetesVersion } from '../../tasks/k8s/versions.ts';
import { CNI_PLUGINS, CNI_PLUGINS_VERSION, cniPluginsTarball } from '../../tasks/k8s/cni.ts';

export interface Release {
  binaryMirror: string;
  criToolsMirror: string;
  /** containerd's static release and runc, in their release layout (see below). */
  containerdMirror: string;
  runcMirror: string;
  /** The CNI plugins release: Debian's real plugins (containernetworking-plugins) in the release's layout. */
  cniPluginsMirror: string;
  /** URL path → bytes served. */
  files: Map<string, Buffer>;
  /** Requests served, by path (a cached download is not requested again). */
  requests: string[];
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function standIn(name: string, version: string): string {
  const initWrites = /^v1\.\d+\./.test(version) ? kubeadmInitWrites(parseKubernetesVersion(version)) : [];
  const body: Record<string, string> = {
    kubelet: `case "$1" in --version) echo "Kubernetes ${version}"; exit 0;; esac\necho "stand-in kubelet: not a real kubelet" >&2; exit 1`,
    kubectl: `case "$1" in version) echo "Client Version: ${version}"; exit 0;; esac\necho "stand-in kubectl: no cluster here" >&2; exit 1`,
    // kubestrap runs `kubeadm config validate --config FILE` before init: check what a stand-in can.
    kubeadm: [
      `if [ "$1 $2 $3" = "config validate --config" ]; then grep -q '^kind: InitConfiguration$' "$4" && grep -q '^kubernetesVersion: ${version}$' "$4"; exit $?; fi`,
      'case "$1" in',
      `  version) echo "kubeadm version: ${version}"; exit 0;;`,
      // init and reset write and erase exactly what kubestrap declares for them (no control plane runs).
      `  init) for f in ${
        initWrites.join(' ')
      }; do case "$f" in *.conf|*.yaml|*.env) mkdir -p "$(dirname "$f")"; echo "stand-in kubeadm init" > "$f";; *) mkdir -p "$f"; echo x > "$f/stand-in";; esac; done; exit 0;;`,
      `  reset) for f in ${
        KUBEADM_RESET_ERASES.map((e) => e.replace(/\*$/, '')).join(' ')
      }; do case "$f" in */) rm -rf "$f"* "$f".[!.]*;; *) rm -f "$f";; esac; done; exit 0;;`,
      'esac',
      'echo "stand-in kubeadm: cannot $1 here" >&2; exit 1',
    ].join('\n'),
    crictl: `case "$1" in --version) echo "crictl version ${version}"; exit 0;; esac\necho "stand-in crictl" >&2; exit 1`,
  };
  return `#!/bin/sh\n# TEST DOUBLE: stand-in for ${name} ${version} (kubestrap's tests).\n${body[name]}\n`;
}

export async function startRelease(t: { after(fn: () => void | Promise<void>): void }, dir: string, version: string): Promise<Release> {
  const minor = /^v1\.(\d+)\./.exec(version)![1];
  const crictlVersion = `v1.${minor}.0`;
  const files = new Map<string, Buffer>();
  for (const name of ['kubelet', 'kubeadm', 'kubectl']) files.set(`/release/${version}/bin/linux/amd64/${name}`, Buffer.from(standIn(name, version)));
  // crictl comes as a release tarball holding one file, crictl.
  const work = join(dir, 'crictl-build');
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'crictl'), standIn('crictl', crictlVersion));
  chmodSync(join(work, 'crictl'), 0o755);
  const tarball = join(dir, 'crictl.tar.gz');
  execFileSync('tar', ['-czf', tarball, '-C', work, 'crictl']);
  files.set(`/cri-tools/${crictlVersion}/crictl-${crictlVersion}-linux-amd64.tar.gz`, readFileSync(tarball));
  const cni = join(dir, 'cni-build');
  mkdirSync(cni, { recursive: true });
  for (const p of CNI_PLUGINS) copyFileSync(`/usr/lib/cni/${p}`, join(cni, p));
  execFileSync('tar', ['-czf', join(dir, 'cni.tgz'), '-C', cni, ...CNI_PLUGINS.map((p) => `./${p}`)]);
  files.set(`/cni/${CNI_PLUGINS_VERSION}/${cniPluginsTarball('amd64')}`, readFileSync(join(dir, 'cni.tgz')));
  for (const [path, bytes] of [...files]) files.set(`${path}.sha256`, Buffer.from(`${sha(bytes)}\n`));
  // containerd's release (bin/containerd, the runc shim, ctr) and runc.amd64, which install-runtime
  // fetches where Debian's containerd is too old: not stand-ins, but this machine's own Debian
  // binaries in the release layout, beside the sha256sum files the releases publish.
  const ctd = join(dir, 'containerd-build');
  mkdirSync(join(ctd, 'bin'), { recursive: true });
  for (const b of ['containerd', 'containerd-shim-runc-v2', 'ctr']) writeFileSync(join(ctd, 'bin', b), readFileSync(`/usr/bin/${b}`), { mode: 0o755 });
  const ctdName = `containerd-${CONTAINERD_RELEASE}-linux-amd64.tar.gz`;
  execFileSync('tar', ['-czf', join(dir, ctdName), '-C', ctd, 'bin/containerd', 'bin/containerd-shim-runc-v2', 'bin/ctr']);
  const ctdArchive = readFileSync(join(dir, ctdName));
  files.set(`/containerd/v${CONTAINERD_RELEASE}/${ctdName}`, ctdArchive);
  files.set(`/containerd/v${CONTAINERD_RELEASE}/${ctdName}.sha256sum`, Buffer.from(`${sha(ctdArchive)}  ${ctdName}\n`));
  const runc = readFileSync('/usr/sbin/runc');
  files.set(`/runc/v${RUNC_RELEASE}/runc.amd64`, runc);
  files.set(`/runc/v${RUNC_RELEASE}/runc.sha256sum`, Buffer.from(`${sha(runc)}  runc.amd64\n`));

  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    requests.push(path);
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    })
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    binaryMirror: `${base}/release`,
    criToolsMirror: `${base}/cri-tools`,
    containerdMirror: `${base}/containerd`,
    runcMirror: `${base}/runc`,
    cniPluginsMirror: `${base}/cni`,
    files,
    requests,
  };
}

// build-node-image against a private dockerd: the plan shows the downloads, the build context and
// the exact `docker build`; the run builds the image through the API with its progress as output,
// with the Kubernetes binaries where install-kubernetes looks and the CNI plugins where the kubelet
// looks; a second plan finds it built. The base is Debian from mmdebstrap (no registry reachable
// here), holding every package, so the build needs no network; the Kubernetes binaries are the
// release test double (test/helpers/k8s-release.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { PlanDocument } from '../../core/plan.ts';
import { CONTAINERD_RELEASE } from '../../runtimes/containerd-support.ts';
import { nodeImagePackages } from '../../tasks/build-node-image.ts';
import { CNI_PLUGINS, CNI_PLUGINS_VERSION } from '../../tasks/k8s/cni.ts';
import { runCli } from '../helpers/cli.ts';
import { DOCKER_INSTALL, startDockerd } from '../helpers/dockerd.ts';
import { isRoot, missing, tempDir } from '../helpers/env.ts';
import { startRelease } from '../helpers/k8s-release.ts';
import { MMDEBSTRAP_INSTALL, nodeImage } from '../helpers/node-image.ts';

const skip = missing(['dockerd', 'containerd', 'mmdebstrap'], `${DOCKER_INSTALL} ${MMDEBSTRAP_INSTALL}`) ?? (isRoot ? undefined : 'needs root');
const VERSION = 'v1.31.4';
// containerd's release as install-runtime leaves it on a node: the archive it compares against, the
// binaries unpacked from it, runc, the unit, enabled, and the configuration; no Debian containerd beside it.
// The plugins unpacked from the release kept beside them, as install-cni compares them.
const CNI_CHECK = `cd /opt/cni/bin && tar -dzf /var/lib/kubestrap/cni/cni-plugins-linux-amd64-${CNI_PLUGINS_VERSION}.tgz ${
  CNI_PLUGINS.map((n) => `./${n}`).join(' ')
} && echo cni`;
const CONTAINERD_CHECK = [
  `a=/var/cache/kubestrap/containerd-${CONTAINERD_RELEASE}-linux-amd64.tar.gz`,
  'for m in containerd containerd-shim-runc-v2 ctr; do tar -xzOf $a bin/$m | cmp -s - /usr/local/bin/$m && test -x /usr/local/bin/$m || exit 1; done',
  'test -x /usr/local/sbin/runc',
  'grep -q "^ExecStart=/usr/local/bin/containerd$" /etc/systemd/system/containerd.service',
  'systemctl is-enabled --quiet containerd',
  'grep -q "SystemdCgroup = true" /etc/containerd/config.toml',
  'grep -q "^runtime-endpoint: unix:///run/containerd/containerd.sock" /etc/crictl.yaml',
  '! dpkg-query -W containerd 2>/dev/null',
  'echo containerd from its release',
].join(' && ');
// A node's new /var volume gets a copy of the image's /var: the releases and binaries stay out of
// it, linked from where the steps look for them.
const VAR_CHECK = [
  'n=$(find /var -xdev -type f -size +1M | wc -l)',
  'test -L /var/cache/kubestrap/containerd-*.tar.gz',
  'echo "var: $n large files"',
].join(' && ');

describe('build-node-image on docker', { skip }, () => {
  it('plans the build, builds the image with progress, then finds it built', { timeout: 900_000 }, async (t) => {
    const dir = tempDir(t);
    // Stopped inside the test: Deno never runs t.after() of a test nested in describe().
    const teardown: (() => void | Promise<void>)[] = [];
    const td = {
      after: (fn: () => void | Promise<void>) => {
        teardown.push(fn);
      },
    };
    try {
      const socket = await startDockerd(td);
      const docker = new Docker({ socketPath: socket });
      const base = await nodeImage(socket, { packages: nodeImagePackages('containerd') });
      const release = await startRelease(td, dir, VERSION);
      const recipe = join(dir, 'image.yaml');
      writeFileSync(
        recipe,
        `name: image
steps:
  - id: image
    task: build-node-image
    with: { engine: docker, socket: "unix://${socket}", baseImage: "${base}", kubernetesVersion: ${VERSION}, binaryMirror: "${release.binaryMirror}", criToolsMirror: "${release.criToolsMirror}", containerdMirror: "${release.containerdMirror}", runcMirror: "${release.runcMirror}", cniPluginsMirror: "${release.cniPluginsMirror}" }
`,
      );
      const env = { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir };

      const plan = await runCli(['plan', recipe, '--format', 'json'], env);
      assert.equal(plan.code, 0, plan.stderr + plan.stdout.slice(-1500));
      const step = (JSON.parse(plan.stdout) as PlanDocument).steps[0]!;
      const builds = step.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command);
      assert.equal(builds.length, 1);
      const m = new RegExp(
        `^docker -H unix://${socket} build --tag (kubestrap-node:${VERSION}-[0-9a-f]{12}) --label io.kubestrap.created-by=kubestrap --label io.kubestrap.kubernetes-version=${VERSION} (\\S+/node-image-[0-9a-f]{12})$`,
      ).exec(builds[0]!);
      assert.ok(m, builds[0]);
      const [, tag, context] = m;
      const writes = step.effects.filter((e) => e.kind === 'write').map((e) => (e as { path: string }).path);
      assert.deepEqual(
        writes,
        [
          'kubelet',
          'kubeadm',
          'kubectl',
          `crictl-v1.31.0-linux-amd64.tar.gz`,
          `cni-plugins-linux-amd64-${CNI_PLUGINS_VERSION}.tgz`,
          `containerd-${CONTAINERD_RELEASE}-linux-amd64.tar.gz`,
          'runc.amd64',
          'containerd.service',
          'config.toml',
          'crictl.yaml',
          'Dockerfile',
        ].map((f) => `${context}/${f}`),
      );
      assert.equal(step.effects.filter((e) => e.kind === 'download').length >= 6, true);

      const run = await runCli(['run', recipe, '--yes', '--json'], env);
      const events = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; line?: string; error?: string });
      assert.equal(run.code, 0, `${run.stderr}${events.find((e) => e.type === 'step-failed')?.error ?? ''}`);
      assert.ok(events.some((e) => e.type === 'output' && /^Step \d+\/\d+ : FROM /.test(e.line ?? '')), "the build's progress is shown");
      const img = await docker.getImage(tag!).inspect();
      assert.equal(img.Config.Labels?.['io.kubestrap.kubernetes-version'], VERSION);
      assert.deepEqual(img.Config.Cmd, ['/sbin/init']);

      // What the node will find: the binaries at the version's path, crictl unpacked, CNI plugins.
      const c = await docker.createContainer({
        Image: tag!,
        Entrypoint: ['sh', '-c'],
        Cmd: [
          `/var/lib/kubestrap/binaries/${VERSION}/kubelet --version; /var/lib/kubestrap/binaries/${VERSION}/crictl --version; ${CNI_CHECK}; ${CONTAINERD_CHECK}; ${VAR_CHECK}`,
        ],
        HostConfig: { NetworkMode: 'none' },
      });
      await c.start();
      await c.wait();
      const out = ((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer).toString('utf8').replace(/[\x00-\x08]/g, '');
      await c.remove({ force: true });
      assert.match(
        out,
        new RegExp(
          `Kubernetes ${VERSION}[\\s\\S]*crictl version v1\\.31\\.0[\\s\\S]*cni[\\s\\S]*containerd from its release[\\s\\S]*var: 0 large files`,
        ),
      );

      const again = await runCli(['plan', recipe, '--format', 'json'], env);
      assert.equal((JSON.parse(again.stdout) as PlanDocument).steps[0]!.status, 'ok');
    } finally {
      for (const fn of teardown.reverse()) await fn();
    }
  });
});

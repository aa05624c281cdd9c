// install-runtime for real, inside a systemd node container reached through a test dockerd:
// the plan for a fresh node is exact (containerd's release where Debian's is too old, the user's
// daemon.json merged into), the run leaves the runtime answering with exactly the planned
// config, and a second run finds everything done. cri-o is not installable here (no Debian package,
// no internet): test/runtimes.test.ts covers it by its plan and validated files.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { Effect } from '../../core/effects.ts';
import { isMutating } from '../../core/expectation.ts';
import type { PlanDocument } from '../../core/plan.ts';
import { findRuntime, type RuntimeOptions } from '../../runtimes/index.ts';
import { CRI_DOCKERD_BIN, mergeDaemonJson } from '../../runtimes/docker.ts';
import { CONTAINERD_RELEASE, RUNC_RELEASE } from '../../runtimes/containerd-support.ts';
import { runCli } from '../helpers/cli.ts';
import { DOCKER_INSTALL, startDockerd } from '../helpers/dockerd.ts';
import { isRoot, missing, repoRoot, tempDir } from '../helpers/env.ts';
import { execIn, freeSubnet, NODE_PACKAGES, nodeImage, startNodeContainer } from '../helpers/node-image.ts';
import { BUSYBOX, BUSYBOX_INSTALL, busyboxArchive } from '../helpers/busybox-image.ts';
import { criClient } from '../helpers/cri.ts';
import { BRIDGE_CONFLIST, CNI_PLUGINS, CNI_PLUGINS_VERSION } from '../../tasks/k8s/cni.ts';

type T = Parameters<typeof tempDir>[0] & { after(fn: () => void | Promise<void>): void };

const skip = missing(['dockerd', 'containerd', 'mmdebstrap'], `${DOCKER_INSTALL} mmdebstrap`) ?? (isRoot ? undefined : 'needs root (dockerd, node containers)');
// One image for both runtimes: Debian's docker.io next to containerd, so that enabling containerd
// has a running Docker to stop and disable (minikube's disableOthers), for real.
const PACKAGES = [...NODE_PACKAGES, 'docker.io'];
// Node containers run without CAP_SYS_RESOURCE (startNodeContainer): containerd must not lower OOM scores there.
const OPTS: RuntimeOptions = {
  cgroupDriver: 'systemd',
  pauseImage: 'registry.k8s.io/pause:3.10',
  kubernetesVersion: 'v1.31.0',
  otherUnits: [],
  restrictOomScoreAdj: true,
};
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Node {
  docker: Docker;
  name: string;
  socket: string;
  dir: string;
}

// One dockerd and one imported image for the suite (the import is most of a node's start-up);
// each test boots its own container on its own network.
const teardown: (() => void | Promise<void>)[] = [];
let engine: Promise<{ socket: string; image: string }> | undefined;
after(async () => {
  for (const fn of teardown.reverse()) await fn();
});
function sharedEngine(): Promise<{ socket: string; image: string }> {
  return engine ??= (async () => {
    const socket = await startDockerd({
      after: (fn) => {
        teardown.push(fn);
      },
    });
    return { socket, image: await nodeImage(socket, { packages: PACKAGES }) };
  })();
}

/**
 * Teardown at the end of the file, not of the test: Deno runs the hooks of describe and of the
 * module, but not a test's own t.after inside a describe, and a node left running would outlive it.
 */
const atEnd = {
  after: (fn: () => void | Promise<void>) => {
    teardown.push(fn);
  },
};

async function bootNode(_t: T, tag: string, opts: Parameters<typeof startNodeContainer>[4] = {}): Promise<Node> {
  const { socket, image } = await sharedEngine();
  const name = `ks-rt-${tag}-${randomBytes(3).toString('hex')}`;
  await startNodeContainer(atEnd, socket, image, name, opts);
  return { docker: new Docker({ socketPath: socket }), name, socket, dir: tempDir(atEnd) };
}

function writeRecipe(node: Node, withParams: string, more = ''): string {
  const file = join(node.dir, 'runtime.yaml');
  writeFileSync(
    file,
    `name: runtime-on-node
hosts:
  node: { docker: { container: ${node.name}, socket: "unix://${node.socket}" } }
steps:
  - id: runtime
    task: install-runtime
    host: node
    with: ${withParams}
${more}`,
  );
  return file;
}

/** A loopback HTTP server for a test's downloads: path → bytes; counts what it served. */
async function serve(files: Map<string, Buffer>): Promise<{ base: string; served: string[] }> {
  const served: string[] = [];
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    served.push(req.url!);
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  atEnd.after(() =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections?.();
    })
  );
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served };
}

const env = (node: Node) => ({ env: { KUBESTRAP_HOME: join(node.dir, 'home') }, cwd: node.dir });

/** The runtime step's mutating effects, one line each, from a fresh plan. */
async function planLines(node: Node, recipe: string): Promise<{ status: string; lines: string[] }> {
  const r = await runCli(['plan', recipe, '--format', 'json'], env(node));
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
  const step = (JSON.parse(r.stdout) as PlanDocument).steps[0]!;
  return { status: step.status, lines: step.effects.filter(isMutating).map(line) };
}

function line(e: Effect): string {
  switch (e.kind) {
    case 'service':
      return `service ${e.action} ${e.name}`;
    case 'package':
      return `package ${e.action} ${e.names.join(' ')}`;
    case 'exec':
      return `exec${e.sudo ? ' sudo' : ''} ${e.command}`;
    case 'download':
      return `download ${e.url}`;
    case 'write':
      return `write ${e.path} ${e.mode}${e.exists ? ' (overwrite)' : ''}`;
    default:
      return `${e.kind}`;
  }
}

async function planEffects(node: Node, recipe: string): Promise<Effect[]> {
  const r = await runCli(['plan', recipe, '--format', 'json'], env(node));
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as PlanDocument).steps[0]!.effects;
}

/** Runs the recipe for real; returns the step's final status and the mutating effects it made. */
async function run(node: Node, recipe: string, stepId = 'runtime'): Promise<{ status: string; effects: Effect[] }> {
  const r = await runCli(['run', recipe, '--yes', '--json'], env(node));
  const events = r.stdout.split('\n').filter(Boolean).map((l) =>
    JSON.parse(l) as { type: string; step?: string; status?: string; effect?: Effect; error?: string }
  );
  const failed = events.find((e) => e.type === 'step-failed');
  assert.equal(r.code, 0, `${r.stderr}${failed ? `\nstep failed: ${failed.error}` : ''}`);
  const finish = events.find((e) => e.type === 'step-finish' && e.step === stepId);
  return { status: finish?.status ?? 'missing', effects: events.filter((e) => e.type === 'effect' && e.effect && isMutating(e.effect)).map((e) => e.effect!) };
}

/**
 * containerd's release and runc in their release layout (made of this machine's own binaries) with
 * the checksum files the releases publish: Debian's containerd 1.6.20 is too old for current minors.
 */
function containerdRelease(dir: string): Map<string, Buffer> {
  const pack = join(dir, 'containerd-pack');
  mkdirSync(join(pack, 'bin'), { recursive: true });
  for (const b of ['containerd', 'containerd-shim-runc-v2', 'ctr']) copyFileSync(`/usr/bin/${b}`, join(pack, 'bin', b));
  const name = `containerd-${CONTAINERD_RELEASE}-linux-amd64.tar.gz`;
  execFileSync('tar', ['-czf', join(dir, name), '-C', pack, 'bin/containerd', 'bin/containerd-shim-runc-v2', 'bin/ctr']);
  const archive = readFileSync(join(dir, name));
  const runc = readFileSync('/usr/sbin/runc');
  return new Map([
    [`/containerd/v${CONTAINERD_RELEASE}/${name}`, archive],
    [`/containerd/v${CONTAINERD_RELEASE}/${name}.sha256sum`, Buffer.from(`${sha(archive)}  ${name}\n`)],
    [`/runc/v${RUNC_RELEASE}/runc.amd64`, runc],
    [`/runc/v${RUNC_RELEASE}/runc.sha256sum`, Buffer.from(`${sha(runc)}  runc.amd64\n`)],
  ]);
}

async function sh(node: Node, script: string): Promise<{ stdout: string; stderr: string; exitCode: number | null }> {
  return execIn(node.docker, node.name, ['sh', '-c', script]);
}

describe('install-runtime on a systemd node container', { skip }, () => {
  it(
    "containerd: Debian's 1.6.20 is too old for v1.31, so containerd's release (from a loopback mirror) runs it; Docker stopped; a second run changes nothing",
    { timeout: 600_000 },
    async (t) => {
      const node = await bootNode(t, 'ctd');
      // A release-shaped archive (bin/containerd, bin/containerd-shim-runc-v2, bin/ctr) and runc.amd64,
      // made of this machine's own binaries, with the checksum files the releases publish beside them.
      const pack = join(node.dir, 'pack');
      mkdirSync(join(pack, 'bin'), { recursive: true });
      for (const b of ['containerd', 'containerd-shim-runc-v2', 'ctr']) copyFileSync(`/usr/bin/${b}`, join(pack, 'bin', b));
      const name = `containerd-${CONTAINERD_RELEASE}-linux-amd64.tar.gz`;
      execFileSync('tar', ['-czf', join(node.dir, name), '-C', pack, 'bin/containerd', 'bin/containerd-shim-runc-v2', 'bin/ctr']);
      const archive = readFileSync(join(node.dir, name));
      const runc = readFileSync('/usr/sbin/runc');
      const files: Record<string, Buffer> = {
        [`/containerd/v${CONTAINERD_RELEASE}/${name}`]: archive,
        [`/containerd/v${CONTAINERD_RELEASE}/${name}.sha256sum`]: Buffer.from(`${sha(archive)}  ${name}\n`),
        [`/runc/v${RUNC_RELEASE}/runc.amd64`]: runc,
        [`/runc/v${RUNC_RELEASE}/runc.sha256sum`]: Buffer.from(`${sha('arm64 stand-in')}  runc.arm64\n${sha(runc)}  runc.amd64\n`),
      };
      const served: string[] = [];
      const server = createServer((req, res) => {
        const body = files[req.url ?? ''];
        if (!body) {
          res.writeHead(404).end();
          return;
        }
        served.push(req.url!);
        res.writeHead(200, { 'content-length': body.length }).end(body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      t.after(() => new Promise<void>((r) => server.close(() => r())));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const recipe = writeRecipe(
        node,
        `{ runtime: containerd, kubernetesVersion: v1.31.0, containerdMirror: "${base}/containerd", runcMirror: "${base}/runc" }`,
      );
      assert.equal((await sh(node, 'systemctl is-active docker')).stdout.trim(), 'active', 'the image boots Docker, which must be stopped');

      // The node is known exactly (our image): so is the plan.
      const cached = `/var/cache/kubestrap/${name}`;
      const planned = await planLines(node, recipe);
      assert.deepEqual(planned, {
        status: 'change',
        lines: [
          'service stop docker.socket',
          'service disable docker.socket',
          'service stop docker',
          'service disable docker',
          `download ${base}/containerd/v${CONTAINERD_RELEASE}/${name}`,
          `write ${cached} 0644`,
          `exec sudo tar -xzf ${cached} -C /usr/local/bin --strip-components=1 --no-same-owner bin/containerd bin/containerd-shim-runc-v2 bin/ctr`,
          'exec sudo chmod 0755 /usr/local/bin/containerd /usr/local/bin/containerd-shim-runc-v2 /usr/local/bin/ctr',
          `download ${base}/runc/v${RUNC_RELEASE}/runc.amd64`,
          'write /usr/local/sbin/runc 0755',
          'write /etc/systemd/system/containerd.service 0644',
          'write /etc/containerd/config.toml 0644 (overwrite)',
          'write /etc/crictl.yaml 0644',
          'service daemon-reload systemd',
          'service restart containerd',
        ],
      });
      // Planning fetched only the published checksums.
      assert.deepEqual(served.sort(), [`/containerd/v${CONTAINERD_RELEASE}/${name}.sha256sum`, `/runc/v${RUNC_RELEASE}/runc.sha256sum`]);

      const first = await run(node, recipe);
      assert.deepEqual({ status: first.status, effects: first.effects.map(line) }, { status: 'change', effects: planned.lines });

      const version = await sh(node, 'ctr version');
      assert.equal(version.exitCode, 0, version.stderr);
      assert.match(version.stdout, /Server:\s*\n\s*Version:/);
      // The service runs the release's binary, with the release's runc first on its PATH.
      assert.equal((await sh(node, 'readlink /proc/$(systemctl show -p MainPID --value containerd)/exe')).stdout.trim(), '/usr/local/bin/containerd');
      assert.equal((await sh(node, 'sha256sum < /usr/local/sbin/runc')).stdout.split(' ')[0], sha(runc));
      for (const f of findRuntime('containerd').configFiles(OPTS)) assert.equal((await sh(node, `cat ${f.path}`)).stdout, f.content, f.path);
      assert.equal((await sh(node, 'systemctl is-active containerd')).stdout.trim(), 'active');
      assert.equal(
        (await sh(node, 'systemctl is-active docker docker.socket; systemctl is-enabled docker docker.socket')).stdout.trim().split('\n').join(' '),
        'inactive inactive disabled disabled',
      );
      // The original config was backed up on the node before it was replaced; Debian's package stays.
      assert.equal((await sh(node, 'ls /root/.kubestrap/backups/kubestrap/etc/containerd/config.toml')).exitCode, 0);
      assert.equal((await sh(node, "dpkg-query -W -f '${db:Status-Status}' containerd")).stdout, 'installed');

      const second = await run(node, recipe);
      assert.deepEqual({ status: second.status, effects: second.effects.map(line) }, { status: 'ok', effects: [] });
    },
  );

  it('docker: cri-dockerd from a loopback download, Docker with the systemd cgroup driver; a second run changes nothing', { timeout: 600_000 }, async (t) => {
    const node = await bootNode(t, 'dkr');

    // A release-shaped archive (cri-dockerd/cri-dockerd) holding the test double, served on loopback:
    // the download happens on this machine; kubestrap then puts the archive on the node.
    const pack = join(node.dir, 'pack');
    mkdirSync(join(pack, 'cri-dockerd'), { recursive: true });
    copyFileSync(join(repoRoot, 'test/fixtures/runtimes/cri-dockerd-stand-in.pl'), join(pack, 'cri-dockerd/cri-dockerd'));
    chmodSync(join(pack, 'cri-dockerd/cri-dockerd'), 0o755);
    const tgz = join(node.dir, 'cri-dockerd-0.0.0-test.amd64.tgz');
    execFileSync('tar', ['-czf', tgz, '-C', pack, 'cri-dockerd/cri-dockerd']);
    const archive = readFileSync(tgz);
    let served = 0;
    const server = createServer((req, res) => {
      if (req.url !== '/cri-dockerd-0.0.0-test.amd64.tgz') {
        res.writeHead(404).end();
        return;
      }
      served++;
      res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    atEnd.after(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cri-dockerd-0.0.0-test.amd64.tgz`;
    const recipe = writeRecipe(node, `{ runtime: docker, kubernetesVersion: v1.31.0, criDockerdUrl: "${url}", criDockerdSha256: ${sha(archive)} }`);
    // The user's own daemon.json: its data-root must survive, and the plan shows exactly what is added.
    const userJson = '{\n  "data-root": "/var/lib/docker-user"\n}\n';
    assert.equal((await sh(node, `mkdir -p /etc/docker && printf '%s' '${userJson}' > /etc/docker/daemon.json`)).exitCode, 0);

    const cached = '/var/cache/kubestrap/cri-dockerd-0.0.0-test.amd64.tgz';
    const planned = await planLines(node, recipe);
    assert.deepEqual(planned, {
      status: 'change',
      lines: [
        `download ${url}`,
        `write ${cached} 0644`,
        `exec sudo tar -xzf ${cached} -C /usr/local/bin --strip-components=1 --no-same-owner cri-dockerd/cri-dockerd`,
        'exec sudo chmod 0755 /usr/local/bin/cri-dockerd',
        'write /etc/docker/daemon.json 0644 (overwrite)',
        'write /etc/systemd/system/cri-docker.socket 0644',
        'write /etc/systemd/system/cri-docker.service 0644',
        'write /etc/crictl.yaml 0644',
        'service daemon-reload systemd',
        'service restart docker',
        'service enable cri-docker.socket',
        'service restart cri-docker.socket',
        'service enable cri-docker',
        'service restart cri-docker',
      ],
    });
    assert.equal(served, 0, 'a plan downloads nothing');
    const daemon = (await planEffects(node, recipe)).find((e) => e.kind === 'write' && e.path === '/etc/docker/daemon.json');
    // daemon.json may hold proxy credentials: the plan says where it changes, not the text (the exact
    // text of the merge is checked in test/runtimes.test.ts, and on disk after the run below).
    assert.equal(daemon?.kind === 'write' && daemon.diff, '(content not shown: the file may hold credentials; changed at -1,3 +1,10)\n');
    assert.equal(daemon?.kind === 'write' && daemon.exists, true);

    const first = await run(node, recipe);
    assert.deepEqual({ status: first.status, effects: first.effects.map(line) }, { status: 'change', effects: planned.lines });
    assert.equal(served, 1);

    const files = Object.fromEntries(findRuntime('docker').configFiles(OPTS).map((f) => [f.path, f.content]));
    files['/etc/docker/daemon.json'] = mergeDaemonJson(userJson, OPTS).content;
    for (const [path, content] of Object.entries(files)) assert.equal((await sh(node, `cat ${path}`)).stdout, content, path);
    assert.equal((await sh(node, "docker info --format '{{.DockerRootDir}}'")).stdout.trim(), '/var/lib/docker-user', "the user's data-root is in effect");
    assert.equal((await sh(node, `sha256sum < ${CRI_DOCKERD_BIN}`)).stdout.split(' ')[0], sha(readFileSync(join(pack, 'cri-dockerd/cri-dockerd'))));
    assert.equal((await sh(node, 'systemctl is-active docker cri-docker.socket cri-docker')).stdout.trim().split('\n').join(' '), 'active active active');
    // daemon.json took effect: Docker now reports the kubelet's cgroup driver.
    const info = await sh(node, "docker info --format '{{.CgroupDriver}}'");
    assert.equal(info.stdout.trim(), 'systemd', info.stderr);
    assert.equal((await sh(node, 'test -S /var/run/cri-dockerd.sock')).exitCode, 0, 'systemd holds the CRI socket');
    // Docker keeps the containerd it runs on.
    assert.equal((await sh(node, 'systemctl is-active containerd')).stdout.trim(), 'active');

    const second = await run(node, recipe);
    assert.deepEqual({ status: second.status, effects: second.effects.map(line) }, { status: 'ok', effects: [] });
    assert.equal(served, 1, 'the second run downloads nothing');
  });
});

describe('the pod network on a systemd node container', {
  skip: skip ?? missing([BUSYBOX], BUSYBOX_INSTALL) ?? missing(['/usr/lib/cni/bridge'], 'apt-get install containernetworking-plugins'),
}, () => {
  it('containerd with the CNI plugins and the bridge config runs a real pod sandbox and container with an address from the planned subnet', {
    timeout: 600_000,
  }, async (t) => {
    // The runtime's overlay snapshots need a filesystem that is not the node's own overlay root, and
    // runc in the node mounts its own /proc: as kind and minikube node containers have.
    const node = await bootNode(t, 'cni', { volumes: ['/var/lib/containerd'], nestedContainers: true });
    // The CNI plugins release, repacked from Debian's containernetworking-plugins (real plugins,
    // 1.1.1) in the release's layout, served with its checksum file as the release publishes it.
    const pack = join(node.dir, 'cni-pack');
    mkdirSync(pack);
    for (const p of CNI_PLUGINS) copyFileSync(`/usr/lib/cni/${p}`, join(pack, p));
    const tgzName = `cni-plugins-linux-amd64-${CNI_PLUGINS_VERSION}.tgz`;
    execFileSync('tar', ['-czf', join(node.dir, tgzName), '-C', pack, ...CNI_PLUGINS.map((p) => `./${p}`)]);
    const tgz = readFileSync(join(node.dir, tgzName));
    const path = `/cni/${CNI_PLUGINS_VERSION}/${tgzName}`;
    const mirror = await serve(new Map([[path, tgz], [`${path}.sha256`, Buffer.from(`${sha(tgz)}  ${tgzName}\n`)], ...containerdRelease(node.dir)]));
    const subnet = freeSubnet();
    const recipe = writeRecipe(
      node,
      `{ runtime: containerd, kubernetesVersion: v1.31.0, containerdMirror: "${mirror.base}/containerd", runcMirror: "${mirror.base}/runc" }`,
      `  - id: cni
    task: install-cni
    host: node
    with: { cni: bridge, podSubnet: "${subnet}", pluginsMirror: "${mirror.base}/cni" }
`,
    );

    // The plan: the plugins (every file tar writes, declared) and the bridge config with the subnet.
    const r = await runCli(['plan', recipe, '--format', 'json'], env(node));
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
    const plan = JSON.parse(r.stdout) as PlanDocument;
    const cni = plan.steps.find((s) => s.id === 'cni')!;
    const tar = cni.effects.find((e) => e.kind === 'exec' && e.command.startsWith('tar '));
    assert.ok(tar && tar.kind === 'exec');
    assert.deepEqual(tar.declares, CNI_PLUGINS.map((p) => ({ path: `/opt/cni/bin/${p}`, action: 'write', exists: false })));
    const conf = cni.effects.find((e) => e.kind === 'write' && e.path === BRIDGE_CONFLIST);
    assert.ok(conf && conf.kind === 'write');
    assert.equal(JSON.parse(conf.content!).plugins[0].ipam.ranges[0][0].subnet, subnet);
    const config = plan.steps[0]!.effects.find((e) => e.kind === 'write' && e.path === '/etc/containerd/config.toml');
    assert.ok(config && config.kind === 'write');
    const pauseImage = /sandbox_image = "([^"]+)"/.exec(config.content!)![1]!;
    // A node container lacks CAP_SYS_RESOURCE here: containerd must not lower OOM scores, or no sandbox starts.
    assert.match(config.content!, /restrict_oom_score_adj = true/);

    const first = await run(node, recipe, 'cni');
    assert.equal(first.status, 'change');
    assert.deepEqual(mirror.served.filter((u) => u.startsWith('/cni/')), [`${path}.sha256`, path]);
    for (const p of CNI_PLUGINS) {
      assert.equal((await sh(node, `sha256sum < /opt/cni/bin/${p}`)).stdout.split(' ')[0], sha(readFileSync(join(pack, p))), p);
      assert.equal((await sh(node, `stat -c %a /opt/cni/bin/${p}`)).stdout.trim(), '755', p);
    }

    // The images the plan names, built here from busybox and imported into the runtime's k8s.io namespace.
    const archive = busyboxArchive(node.dir, [
      { name: pauseImage, entrypoint: ['/bin/sleep', '2147483647'] },
      { name: 'kubestrap.test/busybox:1', entrypoint: ['/bin/sh'] },
    ]);
    execFileSync('tar', ['-cf', join(node.dir, 'images.tar'), '-C', node.dir, 'busybox-images.tar']);
    await node.docker.getContainer(node.name).putArchive(join(node.dir, 'images.tar'), { path: '/tmp' });
    assert.ok(archive);
    const imported = await sh(node, 'ctr -n k8s.io image import /tmp/busybox-images.tar');
    assert.equal(imported.exitCode, 0, imported.stderr);

    // crictl runp, create, start, inspectp, exec — through the CRI, from this machine to the node's socket.
    const pid = (await node.docker.getContainer(node.name).inspect()).State.Pid;
    const cri = criClient(`/proc/${pid}/root/run/containerd/containerd.sock`);
    atEnd.after(() => cri.close());
    assert.equal((await cri.version()).runtimeName, 'containerd');
    const pod = await cri.runPodSandbox('web');
    atEnd.after(() => cri.removePodSandbox(pod).catch(() => {}));
    const status = await cri.podSandboxStatus(pod);
    assert.equal(status.state, 'SANDBOX_READY');
    const prefix = subnet.replace(/\.0\/24$/, '.');
    assert.ok(status.ip.startsWith(prefix) && status.ip !== `${prefix}1`, `pod address ${status.ip} is in ${subnet} (the gateway is .1)`);
    const container = await cri.runContainer(pod, 'web', 'kubestrap.test/busybox:1', ['/bin/sleep', '600']);
    assert.equal(await cri.containerState(container), 'CONTAINER_RUNNING');
    const addr = await cri.execSync(container, ['/bin/ip', '-4', '-o', 'addr', 'show', 'eth0']);
    assert.equal(addr.exitCode, 0, addr.stderr);
    assert.match(addr.stdout, new RegExp(`inet ${status.ip.replace(/\./g, '\\.')}/24 `));
    // The node is the pods' gateway on the bridge.
    assert.match((await sh(node, 'ip -4 -o addr show kubestrap0')).stdout, new RegExp(`inet ${prefix.replace(/\./g, '\\.')}1/24 `));
    await cri.removePodSandbox(pod);

    const second = await run(node, recipe, 'cni');
    assert.deepEqual({ status: second.status, effects: second.effects.map(line) }, { status: 'ok', effects: [] });
    assert.equal(mirror.served.filter((u) => u.startsWith('/cni/')).length, 2, 'nothing downloaded again');
  });
});

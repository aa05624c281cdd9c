// The user's packages are kept: in a systemd node container with Docker's packages installed
// (containerd.io, docker-ce-cli, docker-ce — built here with dpkg-deb, their control files
// conflicting with Debian's containerd and runc the way the real ones do), the plan simulates the
// apt transaction with apt itself, lists what it removes and is blocked; with the override the run
// really removes and installs (Debian's containerd and runc from a local file:// repository, no
// network in the container). A containerd the node already has is found by its binary and used.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { PackageEffect } from '../../core/effects.ts';
import type { PlanDocument } from '../../core/plan.ts';
import { runCli } from '../helpers/cli.ts';
import { DOCKER_INSTALL, startDockerd } from '../helpers/dockerd.ts';
import { isRoot, missing, tempDir } from '../helpers/env.ts';
import { execIn, NODE_PACKAGES, nodeImage, startNodeContainer, testCacheDir } from '../helpers/node-image.ts';

type T = Parameters<typeof tempDir>[0] & { after(fn: () => void | Promise<void>): void };

const skip = missing(['dockerd', 'containerd', 'mmdebstrap', 'dpkg-deb', 'apt-get'], `${DOCKER_INSTALL} mmdebstrap`) ??
  (isRoot ? undefined : 'needs root (dockerd, node containers)');
// A node without Debian's containerd and runc: Docker's packages take their place.
const PACKAGES = NODE_PACKAGES.filter((p) => p !== 'containerd' && p !== 'runc');

/** Docker's packages as its apt repository ships them (names, versions, relations), with stand-in binaries. */
const FAKES = [
  {
    Package: 'containerd.io',
    Version: '1.7.25-1',
    Provides: 'containerd, runc',
    Conflicts: 'containerd, runc',
    Replaces: 'containerd, runc',
    files: { '/usr/bin/containerd': 'containerd containerd.io 1.7.25 bcc810d6b9066471b0b6fa75f557a15a1cbf31bb', '/usr/bin/runc': 'runc version 1.2.5' },
  },
  {
    Package: 'docker-ce-cli',
    Version: '5:27.5.1-1~debian.12~bookworm',
    Conflicts: 'docker (<< 1.5~), docker-engine, docker.io',
    Replaces: 'docker-ce (<< 5:0)',
    files: { '/usr/bin/docker': 'Docker version 27.5.1, build 9f9e405' },
  },
  {
    Package: 'docker-ce',
    Version: '5:27.5.1-1~debian.12~bookworm',
    Depends: 'containerd.io (>= 1.6.24), docker-ce-cli',
    Conflicts: 'docker (<< 1.5~), docker-engine, docker.io',
    files: { '/usr/bin/dockerd': 'Docker version 27.5.1, build 4c9b3b0' },
  },
] as const;

/** Builds the stand-in packages with dpkg-deb: each binary prints its version line for --version. */
function buildFakes(dir: string): string[] {
  return FAKES.map((f) => {
    const root = join(dir, f.Package);
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    const fields = Object.entries(f).filter(([k]) => k !== 'files').map(([k, v]) => `${k}: ${v}`);
    writeFileSync(
      join(root, 'DEBIAN/control'),
      [...fields, 'Architecture: all', 'Maintainer: kubestrap tests <tests@kubestrap.invalid>', `Description: stand-in for Docker's ${f.Package} (test)`, '']
        .join('\n'),
    );
    for (const [path, line] of Object.entries(f.files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), `#!/bin/sh\necho '${line}'\n`);
      chmodSync(join(root, path), 0o755);
    }
    const deb = join(dir, `${f.Package}.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, deb], { stdio: 'ignore' });
    return deb;
  });
}

/** Debian's containerd, runc and docker.io (with what docker.io needs beyond the image), fetched once with the machine's apt (cached like the images). */
const DEBIAN = ['containerd', 'runc', 'docker.io', 'tini', 'libdevmapper1.02.1', 'dmsetup', 'lsb-base'];
function debianDebs(): string[] {
  const dir = join(testCacheDir(), `debs-${createHash('sha256').update(DEBIAN.join(' ')).digest('hex').slice(0, 12)}`);
  if (!existsSync(dir) || readdirSync(dir).filter((f) => f.endsWith('.deb')).length < DEBIAN.length) {
    const partial = `${dir}.${process.pid}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    execFileSync('apt-get', ['download', ...DEBIAN], { cwd: partial, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  }
  return readdirSync(dir).filter((f) => f.endsWith('.deb')).sort().map((f) => join(dir, f));
}

/** A flat apt repository: the .debs and a Packages index written from their control fields. */
function localRepository(dir: string, debs: string[]): void {
  mkdirSync(dir, { recursive: true });
  const stanzas = debs.map((deb) => {
    const name = deb.split('/').pop()!;
    const bytes = readFileSync(deb);
    writeFileSync(join(dir, name), bytes);
    const control = execFileSync('dpkg-deb', ['-f', deb], { encoding: 'utf8' }).trimEnd();
    return `${control}\nFilename: ./${name}\nSize: ${bytes.length}\nSHA256: ${createHash('sha256').update(bytes).digest('hex')}\n`;
  });
  writeFileSync(join(dir, 'Packages'), stanzas.join('\n'));
}

const version = (deb: string, field = 'Version') => execFileSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).trim();

interface Node {
  docker: Docker;
  name: string;
  socket: string;
  dir: string;
}

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

async function sh(node: Node, script: string): Promise<string> {
  const r = await execIn(node.docker, node.name, ['sh', '-c', script]);
  assert.equal(r.exitCode, 0, `${script}: ${r.stderr}`);
  return r.stdout;
}

/** A node with Docker's packages installed and apt pointed at the local repository only. */
async function dockerCeNode(t: T): Promise<Node & { debian: string[] }> {
  const { socket, image } = await sharedEngine();
  const name = `ks-pkg-${randomBytes(3).toString('hex')}`;
  await startNodeContainer(t, socket, image, name);
  const node = { docker: new Docker({ socketPath: socket }), name, socket, dir: tempDir(t) };
  const fakes = buildFakes(join(node.dir, 'fakes'));
  const debian = debianDebs();
  localRepository(join(node.dir, 'srv/repo'), debian);
  mkdirSync(join(node.dir, 'srv/fakes'), { recursive: true });
  for (const f of fakes) writeFileSync(join(node.dir, 'srv/fakes', f.split('/').pop()!), readFileSync(f));
  const tar = join(node.dir, 'srv.tar');
  execFileSync('tar', ['-cf', tar, '-C', node.dir, 'srv']);
  await node.docker.getContainer(name).putArchive(tar, { path: '/' });
  await sh(node, 'dpkg -i /srv/fakes/containerd.io.deb /srv/fakes/docker-ce-cli.deb /srv/fakes/docker-ce.deb >/dev/null');
  await sh(
    node,
    [
      'rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*',
      "echo 'deb [trusted=yes] file:/srv/repo ./' > /etc/apt/sources.list.d/local.list",
      'apt-get -o Acquire::AllowInsecureRepositories=true update -qq >/dev/null',
    ].join(' && '),
  );
  return { ...node, debian };
}

function recipe(node: Node, steps: string): string {
  const file = join(node.dir, 'r.yaml');
  writeFileSync(
    file,
    `name: packages-on-node
hosts:
  node: { docker: { container: ${node.name}, socket: "unix://${node.socket}" } }
steps:
${steps}`,
  );
  return file;
}

const env = (node: Node) => ({ env: { KUBESTRAP_HOME: join(node.dir, 'home') }, cwd: node.dir });

async function planOf(node: Node, file: string): Promise<{ code: number; plan: PlanDocument; text: string }> {
  const json = await runCli(['plan', file, '--format', 'json'], env(node));
  const text = await runCli(['plan', file], env(node));
  assert.ok(json.stdout.startsWith('{'), `exit ${json.code}: ${json.stderr}`);
  return { code: json.code, plan: JSON.parse(json.stdout) as PlanDocument, text: text.stdout };
}

const installed = (node: Node) =>
  sh(
    node,
    "dpkg-query -W -f '${db:Status-Status} ${Package} ${Version}\\n' containerd.io docker-ce docker-ce-cli containerd runc 2>/dev/null | sed -n 's/^installed //p'",
  );

describe("package transactions on a node with Docker's packages", { skip }, () => {
  it('installing containerd and runc: the plan lists the removals and is blocked; with the override the run makes exactly that transaction', {
    timeout: 900_000,
  }, async (t) => {
    const node = await dockerCeNode(t);
    const [containerdDeb, runcDeb] = [node.debian.find((d) => /\/containerd_/.test(d))!, node.debian.find((d) => /\/runc_/.test(d))!];
    const step = (allow: boolean) =>
      `  - id: pkgs
    task: install-packages
    host: node
    with: { names: [containerd, runc], allowPackageChanges: ${allow} }
`;
    const before = await installed(node);
    assert.equal(before, 'containerd.io 1.7.25-1\ndocker-ce 5:27.5.1-1~debian.12~bookworm\ndocker-ce-cli 5:27.5.1-1~debian.12~bookworm\n');

    const blocked = await planOf(node, recipe(node, step(false)));
    const pkg = blocked.plan.steps[0]!.effects.find((e): e is PackageEffect => e.kind === 'package')!;
    // apt's own answer: Debian's containerd conflicts with containerd.io, and docker-ce needs it.
    assert.deepEqual(pkg.transaction, {
      // In apt's order: a dependency first.
      install: [{ name: 'runc', version: version(runcDeb) }, { name: 'containerd', version: version(containerdDeb) }],
      upgrade: [],
      downgrade: [],
      remove: [{ name: 'docker-ce', version: '5:27.5.1-1~debian.12~bookworm' }, { name: 'containerd.io', version: '1.7.25-1' }],
    });
    assert.deepEqual(pkg.names, ['containerd', 'runc']);
    assert.equal(pkg.allowRemovals, undefined);
    assert.equal(blocked.plan.summary.packagesRemoved, 2);
    assert.deepEqual(blocked.plan.steps[0]!.notes?.map((n) => n.blocks), ['PACKAGES_TAKEN_AWAY']);
    assert.match(
      blocked.text,
      /Packages\n {2}REMOVE docker-ce 5:27\.5\.1-1~debian\.12~bookworm \[docker:ks-pkg-\w+\]\n {2}REMOVE containerd\.io 1\.7\.25-1 \[docker:ks-pkg-\w+\]\n {2}install runc /,
    );
    assert.match(
      blocked.text,
      /Blocked: .*\n {2}pkgs: installing containerd runc on docker:ks-pkg-\w+ REMOVES docker-ce 5:27\.5\.1-1~debian\.12~bookworm, containerd\.io 1\.7\.25-1: packages installed on this machine would be lost — .*--allow-package-changes.* \[PACKAGES_TAKEN_AWAY\]/,
    );

    // Debian's docker.io conflicts with all three of Docker's packages.
    const dockerIo = await planOf(
      node,
      recipe(
        node,
        `  - id: pkgs
    task: install-packages
    host: node
    with: { names: [docker.io] }
`,
      ),
    );
    const dpkg = dockerIo.plan.steps[0]!.effects.find((e): e is PackageEffect => e.kind === 'package')!;
    assert.deepEqual(dpkg.transaction?.remove.map((c) => c.name).sort(), ['containerd.io', 'docker-ce', 'docker-ce-cli']);
    assert.deepEqual(dpkg.transaction?.install.map((c) => c.name).sort(), ['containerd', 'docker.io', 'runc', 'tini']);
    assert.deepEqual(dockerIo.plan.steps[0]!.notes?.map((n) => n.blocks), ['PACKAGES_TAKEN_AWAY']);

    // A run refuses before anything happens.
    const refused = await runCli(['run', recipe(node, step(false)), '--yes'], env(node));
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /PLAN_BLOCKED/);
    assert.equal(await installed(node), before);

    // Allowed: the same transaction, shown as allowed, and apt may remove.
    const allowed = await planOf(node, recipe(node, step(true)));
    const apkg = allowed.plan.steps[0]!.effects.find((e): e is PackageEffect => e.kind === 'package')!;
    assert.deepEqual(apkg.transaction, pkg.transaction);
    assert.equal(apkg.allowRemovals, true);
    assert.deepEqual(allowed.plan.steps[0]!.notes?.map((n) => [n.level, n.blocks]), [['warn', undefined]]);
    const run = await runCli(['run', recipe(node, step(true)), '--yes', '--json'], env(node));
    assert.equal(run.code, 0, run.stderr + run.stdout.slice(-2000));
    assert.equal(await installed(node), `containerd ${version(containerdDeb)}\ndocker-ce-cli 5:27.5.1-1~debian.12~bookworm\nrunc ${version(runcDeb)}\n`);
  });

  it('without the override the real command refuses removals itself (apt-get --no-remove)', { timeout: 600_000 }, async (t) => {
    const node = await dockerCeNode(t);
    const plan = await planOf(
      node,
      recipe(
        node,
        `  - id: pkgs
    task: install-packages
    host: node
    with: { names: [containerd, runc] }
`,
      ),
    );
    const sh = (await runCli(['plan', join(node.dir, 'r.yaml'), '--format', 'sh'], env(node))).stdout;
    // The command as the script runs it in the node: docker exec … sh -c 'COMMAND'.
    assert.match(sh, / sh -c 'env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-remove -- containerd runc'$/m);
    assert.equal(plan.code, 0);
    // What apt does with that command when the plan is bypassed: it stops, and removes nothing.
    const r = await execIn(node.docker, node.name, [
      'env',
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '--no-install-recommends',
      '--no-remove',
      '--',
      'containerd',
      'runc',
    ]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stdout + r.stderr, /Packages need to be removed but remove is disabled/);
    assert.match(await installed(node), /^containerd\.io 1\.7\.25-1$/m);
  });

  it("a runtime the node has is found by its binary and used: containerd.io's containerd, docker-ce's dockerd; too old for 1.35 is blocked", {
    timeout: 600_000,
  }, async (t) => {
    const node = await dockerCeNode(t);
    const runtime = (name: string, v: string) =>
      `  - id: runtime
    task: install-runtime
    host: node
    with: { runtime: ${name}, kubernetesVersion: ${v}, criDockerdUrl: "http://127.0.0.1:9/cri-dockerd.tgz", criDockerdSha256: "${'0'.repeat(64)}" }
`;
    const packagesOf = (p: PlanDocument) => p.steps[0]!.effects.filter((e) => e.kind === 'package');
    const notes = (p: PlanDocument) => (p.steps[0]!.notes ?? []).map((n) => n.message);

    const ctd = await planOf(node, recipe(node, runtime('containerd', 'v1.31.0')));
    assert.deepEqual(packagesOf(ctd.plan), []);
    assert.ok(
      notes(ctd.plan).includes('uses the containerd 1.7.25 this machine has (/usr/bin/containerd, package containerd.io): kubestrap does not replace it'),
      notes(ctd.plan).join('\n'),
    );
    assert.equal(ctd.plan.steps[0]!.effects.some((e) => e.kind === 'download'), false);

    const dkr = await planOf(node, recipe(node, runtime('docker', 'v1.31.0')));
    assert.deepEqual(packagesOf(dkr.plan), []);
    assert.ok(
      notes(dkr.plan).includes('uses the Docker Engine 27.5.1 this machine has (/usr/bin/dockerd, package docker-ce): kubestrap does not replace it'),
      notes(dkr.plan).join('\n'),
    );

    // containerd 1.7.25 is below 1.35's 1.7.28: kubestrap does not put its own in front of the user's.
    const old = await planOf(node, recipe(node, runtime('containerd', 'v1.35.0')));
    assert.deepEqual(old.plan.steps[0]!.notes?.filter((n) => n.blocks).map((n) => [n.blocks, n.message]), [[
      'RUNTIME_TOO_OLD',
      'the containerd 1.7.25 this machine has (/usr/bin/containerd, package containerd.io) is too old: Kubernetes v1.35.0 needs containerd 1.7.28+, 2.1.5+ or 2.2.0+; kubestrap does not replace a runtime it did not install',
    ]]);
  });
});

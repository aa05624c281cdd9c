// The ssh driver through the real command line: `kubestrap start --driver ssh` against the sshd
// of a disposable systemd node container (a private dockerd; nothing on this machine changes),
// logged in as an ordinary user with sudo, up to the kubeadm configuration; then a second start
// that changes nothing, and `kubestrap delete`, which finds the machine from the profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { PlanDocument } from '../../core/plan.ts';
import { readState } from '../../core/profile.ts';
import { runCli } from '../helpers/cli.ts';
import { DOCKER_INSTALL, startDockerd } from '../helpers/dockerd.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { startRelease } from '../helpers/k8s-release.ts';
import { kubeadmInitWrites } from '../../tasks/k8s/paths.ts';
import { parseKubernetesVersion } from '../../tasks/k8s/versions.ts';
import { execIn, MMDEBSTRAP_INSTALL, nodeImage, startNodeContainer } from '../helpers/node-image.ts';

const VERSION = 'v1.30.6';
const BIN = `/var/lib/kubestrap/binaries/${VERSION}`;
const skip = missing(['dockerd', 'mmdebstrap', 'ssh-keygen'], `${DOCKER_INSTALL}; ${MMDEBSTRAP_INSTALL}; apt-get install openssh-client`);

test('ssh driver: start over SSH as a sudo user, start again (no change), delete', { skip, timeout: 900_000 }, async (t) => {
  const started = Date.now();
  const phase = (what: string) => t.diagnostic(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const work = tempDir(t, 'ks-ssh-e2e-');
  const env = { KUBESTRAP_HOME: join(work, 'home'), SSH_AUTH_SOCK: '' };
  const socket = await startDockerd(t);
  const image = await nodeImage(socket);
  const name = `ks-ssh-${randomBytes(3).toString('hex')}`;
  const node = await startNodeContainer(t, socket, image, name);
  const docker = new Docker({ socketPath: socket });
  const sh = async (script: string) => execIn(docker, name, ['sh', '-c', script]);

  const key = join(work, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kubestrap-e2e', '-f', key]);
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  const user = await sh([
    'useradd -m -s /bin/sh kube',
    'echo "kube ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/kube && chmod 0440 /etc/sudoers.d/kube',
    `install -d -m 0700 -o kube -g kube /home/kube/.ssh && echo '${pub}' > /home/kube/.ssh/authorized_keys`,
    'chown kube:kube /home/kube/.ssh/authorized_keys && chmod 0600 /home/kube/.ssh/authorized_keys',
    'systemctl is-active ssh',
  ].join(' && '));
  assert.equal(user.exitCode, 0, user.stderr + user.stdout);
  const release = await startRelease(t, work, VERSION);
  phase('node up');

  const flags = [
    '--driver',
    'generic',
    '--ssh-ip-address',
    node.address,
    '--ssh-user',
    'kube',
    '--ssh-key',
    key,
    '--container-runtime',
    'containerd',
    '--kubernetes-version',
    VERSION,
    '--apiserver-port',
    '9443',
    '--extra-config',
    'kubelet.max-pods=40',
    '--extra-config',
    'apiserver.audit-log-maxage=3',
    '--binary-mirror',
    release.binaryMirror,
    '--cri-tools-mirror',
    release.criToolsMirror,
    '--containerd-mirror',
    release.containerdMirror,
    '--runc-mirror',
    release.runcMirror,
    '--cni-plugins-mirror',
    release.cniPluginsMirror,
    '-p',
    'remote',
  ];
  const cli = async (...argv: string[]) => runCli(argv, { env, cwd: work });

  // The dry run is the plan: kubeadm init's exact command, on the ssh host, as root.
  const dry = await cli('start', ...flags, '--dry-run', '--format', 'json');
  assert.equal(dry.code, 0, dry.stderr + dry.stdout);
  const plan = JSON.parse(dry.stdout) as PlanDocument;
  assert.equal(plan.recipe, 'driver-ssh');
  const host = `ssh:kube@${node.address}:22`;
  const init = plan.steps.find((s) => s.id === 'node.init')!.effects.filter((e) => e.kind === 'exec');
  assert.deepEqual(init, [{
    kind: 'exec',
    host,
    sudo: true,
    simple: true,
    command: `env PATH=${BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin kubeadm init --config /var/lib/kubestrap/kubeadm.yaml`,
    declares: kubeadmInitWrites(parseKubernetesVersion(VERSION)).map((path) => ({ path, action: 'write', exists: false })),
  }]);
  const listens = plan.steps.flatMap((s) => s.effects).filter((e) => e.kind === 'listen').map((e) =>
    e.kind === 'listen' && `${e.component} ${e.address}:${e.port}`
  );
  assert.ok(listens.includes('kube-apiserver 0.0.0.0:9443'));
  assert.ok(listens.includes(`etcd (peers) ${node.address}:2380`));
  const cfg = plan.steps.flatMap((s) => s.effects).find((e) => e.kind === 'write' && e.path === '/var/lib/kubestrap/kubeadm.yaml');
  assert.ok(cfg && cfg.kind === 'write' && cfg.content);
  // Kubernetes 1.30 reads kubeadm's v1beta3, where extra arguments are a map.
  assert.match(cfg.content, /^apiVersion: kubeadm\.k8s\.io\/v1beta3$/m);
  assert.match(cfg.content, /^ {4}audit-log-maxage: "3"$/m);
  assert.match(cfg.content, /^ {2}bindPort: 9443$/m);

  const up = await cli('start', ...flags, '--yes', '--only', 'node.kubeadm-config');
  assert.equal(up.code, 0, up.stdout + up.stderr);
  phase('start');

  const onNode = async (path: string) => (await sh(`cat ${path}`)).stdout;
  assert.equal(await onNode('/var/lib/kubestrap/kubeadm.yaml'), cfg.content, 'the kubeadm config is the planned one');
  assert.equal((await sh('ctr version')).exitCode, 0, 'containerd answers');
  const planned = (path: string) => plan.steps.flatMap((s) => s.effects).find((e) => e.kind === 'write' && e.path === path);
  const toml = planned('/etc/containerd/config.toml');
  assert.ok(toml && toml.kind === 'write');
  assert.equal(await onNode('/etc/containerd/config.toml'), toml.content);
  const verify = await sh('systemd-analyze verify /etc/systemd/system/kubelet.service 2>&1');
  assert.equal(verify.exitCode, 0, verify.stdout);
  assert.deepEqual(verify.stdout.split('\n').filter((l) => /kubelet|10-kubeadm/.test(l)), []);
  assert.match(await onNode('/etc/systemd/system/kubelet.service.d/10-kubeadm.conf'), / --max-pods=40$/m);
  assert.equal(JSON.parse(await onNode('/var/lib/kubestrap/cluster.json')).driver, 'ssh');
  // Root-owned system files; the SSH user's own backups directory for what was overwritten.
  assert.equal((await sh('stat -c %U /var/lib/kubestrap/kubeadm.yaml')).stdout.trim(), 'root');
  assert.equal((await sh('test -f /home/kube/.kubestrap/backups/remote/etc/containerd/config.toml && echo kept')).stdout.trim(), 'kept');

  // Again, without the driver flags: the profile remembers them, and nothing changes.
  const before = (await sh('stat -c "%n %Y" /var/lib/kubestrap/kubeadm.yaml /etc/containerd/config.toml')).stdout;
  const again = await cli('start', '-p', 'remote', '--dry-run', '--format', 'json', '--only', 'node.kubeadm-config');
  assert.equal(again.code, 0, again.stderr);
  const second = JSON.parse(again.stdout) as PlanDocument;
  assert.deepEqual(second.steps.filter((s) => s.status !== 'ok').map((s) => s.id), []);
  assert.equal(second.summary.commands, 0);
  const rerun = await cli('start', '-p', 'remote', '--yes', '--only', 'node.kubeadm-config');
  assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
  assert.equal((await sh('stat -c "%n %Y" /var/lib/kubestrap/kubeadm.yaml /etc/containerd/config.toml')).stdout, before);
  phase('second start');

  // delete finds the machine from the profile and erases what start created.
  const dry2 = await cli('delete', '-p', 'remote', '--dry-run');
  assert.equal(dry2.code, 0, dry2.stderr + dry2.stdout);
  const size = String.raw`\(\d+(\.\d)? (B|KiB|MiB)\)`;
  assert.match(dry2.stdout, new RegExp(String.raw`Paths erased\n {2}/etc/systemd/system/kubelet\.service\.d \[ssh:kube@[\d.]+:22\] ${size}`));
  assert.match(dry2.stdout, new RegExp(String.raw`/var/lib/kubestrap \[ssh:kube@[\d.]+:22\] ${size}`));
  const down = await cli('delete', '-p', 'remote', '--yes');
  assert.equal(down.code, 0, down.stdout + down.stderr);
  assert.equal((await sh('ls -d /var/lib/kubestrap /etc/systemd/system/kubelet.service 2>/dev/null')).stdout, '');
  assert.equal(readState(env.KUBESTRAP_HOME, 'remote')?.recipe, 'delete-ssh');
  phase('delete');
});

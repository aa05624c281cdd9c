// The none driver's graph run for real on a disposable systemd node container (through a private
// dockerd; the machine running the tests is not touched), as an ordinary user with sudo, up to the
// kubeadm configuration: everything except the steps that need an image registry. Kubernetes
// binaries come from a loopback stand-in release (test/helpers/k8s-release.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { PlanDocument } from '../../core/plan.ts';
import type { Effect } from '../../core/effects.ts';
import { runCli } from '../helpers/cli.ts';
import { startDockerd, DOCKER_INSTALL } from '../helpers/dockerd.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { startRelease } from '../helpers/k8s-release.ts';
import { execIn, MMDEBSTRAP_INSTALL, nodeImage, startNodeContainer } from '../helpers/node-image.ts';

const VERSION = 'v1.31.4';
const BIN = `/var/lib/kubestrap/binaries/${VERSION}`;
const skip = missing(['dockerd', 'mmdebstrap'], `${DOCKER_INSTALL}; ${MMDEBSTRAP_INSTALL}`);

type Write = Extract<Effect, { kind: 'write' }>;

function writes(plan: PlanDocument): Map<string, Write> {
  const out = new Map<string, Write>();
  for (const s of plan.steps) for (const e of s.effects) if (e.kind === 'write') out.set(e.path, e);
  return out;
}

function step(plan: PlanDocument, id: string) {
  const s = plan.steps.find((x) => x.id === id);
  assert.ok(s, `step ${id} is in the plan`);
  return s;
}

test('none driver: the whole graph up to kubeadm init on a systemd node, then a second run and delete', { skip, timeout: 900_000 }, async (t) => {
  const started = Date.now();
  const work = tempDir(t, 'ks-none-e2e-');
  const home = join(work, 'home');
  const env = { KUBESTRAP_HOME: home };
  const socket = await startDockerd(t);
  const image = await nodeImage(socket);
  const name = `ks-none-${randomBytes(3).toString('hex')}`;
  await startNodeContainer(t, socket, image, name);
  const docker = new Docker({ socketPath: socket });
  const sh = async (script: string) => execIn(docker, name, ['sh', '-c', script]);
  // kubestrap works as an ordinary user who may sudo; only root commands use it.
  const user = await sh('useradd -m -s /bin/sh kube && echo "kube ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/kube && chmod 0440 /etc/sudoers.d/kube');
  assert.equal(user.exitCode, 0, user.stderr);
  const originalContainerdConfig = (await sh('cat /etc/containerd/config.toml')).stdout;
  const release = await startRelease(t, work, VERSION);
  const phase = (what: string) => t.diagnostic(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  phase('node up');

  const recipe = join(work, 'cluster.yaml');
  writeFileSync(recipe, [
    'name: none-node-e2e',
    'hosts:',
    '  node:',
    `    docker: { container: ${name}, socket: ${socket}, user: kube }`,
    'steps:',
    '  - id: cluster',
    '    recipe: driver-none',
    `    with: { host: node, kubernetesVersion: ${VERSION}, binaryMirror: "${release.binaryMirror}", criToolsMirror: "${release.criToolsMirror}", containerdMirror: "${release.containerdMirror}", runcMirror: "${release.runcMirror}" }`,
    '',
  ].join('\n'));
  const removal = join(work, 'delete.yaml');
  writeFileSync(removal, [
    'name: none-node-e2e-delete',
    'hosts:',
    '  node:',
    `    docker: { container: ${name}, socket: ${socket}, user: kube }`,
    'steps:',
    '  - id: cluster',
    '    recipe: delete-none',
    '    with: { host: node }',
    '',
  ].join('\n'));
  const cli = async (...argv: string[]) => {
    const r = await runCli(argv, { env, cwd: work });
    return { ...r, json: () => JSON.parse(r.stdout) as PlanDocument };
  };
  const ONLY = ['--only', 'cluster.kubeadm-config'];

  // The whole plan, kubeadm init included: its exact command as root, and the audit.
  const full = await cli('plan', recipe, '--format', 'json');
  assert.equal(full.code, 0, full.stderr + full.stdout);
  const plan = full.json();
  const init = step(plan, 'cluster.init').effects.filter((e) => e.kind === 'exec');
  assert.deepEqual(init, [{
    kind: 'exec', host: `docker:${name}`, sudo: true, simple: true,
    command: `env PATH=${BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin kubeadm init --config /var/lib/kubestrap/kubeadm.yaml`,
  }]);
  const kubeconfig = step(plan, 'cluster.kubeconfig').effects.filter((e) => e.kind === 'exec');
  assert.deepEqual(kubeconfig.map((e) => e.kind === 'exec' && [e.command, e.sudo]), [
    ['mkdir -m 0700 /home/kube/.kube', false],
    ['install -m 0600 -o 1000 -g 1000 /etc/kubernetes/admin.conf /home/kube/.kube/config', true],
  ]);
  const planned = writes(plan);

  phase('planned');
  // Run everything kubeadm init needs.
  const run = await cli('run', recipe, '--yes', ...ONLY);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  phase('first run');

  // The runtime answers, with exactly the planned configuration (and the original backed up).
  const ctr = await sh('ctr version');
  assert.equal(ctr.exitCode, 0, ctr.stderr);
  assert.match(ctr.stdout, /Server:\s+Version:/);
  for (const path of ['/etc/containerd/config.toml', '/etc/crictl.yaml', '/var/lib/kubestrap/kubeadm.yaml', '/etc/systemd/system/kubelet.service', '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf', '/var/lib/kubestrap/cluster.json']) {
    const onNode = await sh(`cat ${path}`);
    assert.equal(onNode.exitCode, 0, `${path}: ${onNode.stderr}`);
    assert.equal(onNode.stdout, planned.get(path)?.content, `${path} is the planned file`);
    assert.equal((await sh(`stat -c %U:%a ${path}`)).stdout.trim(), 'root:644', `${path} belongs to root`);
  }
  const backup = await sh('cat /home/kube/.kubestrap/backups/kubestrap/etc/containerd/config.toml');
  assert.equal(backup.stdout, originalContainerdConfig, 'the original containerd config is kept');
  const dump = await sh('containerd --config /etc/containerd/config.toml config dump');
  assert.equal(dump.exitCode, 0, dump.stderr);
  assert.match(dump.stdout, /SystemdCgroup = true/);

  // The kubelet's units are valid for systemd and point at the installed binary.
  const verify = await sh('systemd-analyze verify /etc/systemd/system/kubelet.service 2>&1');
  assert.equal(verify.exitCode, 0, verify.stdout);
  assert.deepEqual(verify.stdout.split('\n').filter((l) => /kubelet|10-kubeadm/.test(l)), [], verify.stdout);
  const cat = await sh('systemctl cat kubelet');
  assert.match(cat.stdout, new RegExp(`^ExecStart=${BIN}/kubelet \\$KUBELET_KUBECONFIG_ARGS`, 'm'));
  assert.equal((await sh('systemctl is-enabled kubelet')).stdout.trim(), 'enabled');
  // The binaries are the released ones, checksum for checksum.
  for (const b of ['kubelet', 'kubeadm', 'kubectl']) {
    const sum = (await sh(`sha256sum ${BIN}/${b} | cut -d' ' -f1`)).stdout.trim();
    assert.equal(sum, release.files.get(`/release/${VERSION}/bin/linux/amd64/${b}.sha256`)!.toString().trim(), `${b} checksum`);
    assert.equal((await sh(`stat -c %a ${BIN}/${b}`)).stdout.trim(), '755');
  }
  assert.equal((await sh(`${BIN}/crictl --version`)).stdout.trim(), 'crictl version v1.31.0');
  const downloaded = release.requests.filter((p) => !/\.sha256(sum)?$/.test(p)).length;
  // Debian 12's containerd 1.6.20 is too old for v1.31: containerd's release and runc come too.
  assert.equal(downloaded, 6, 'kubelet, kubeadm, kubectl, the crictl tarball, containerd and runc, once each');

  // A second run changes nothing: every step is already done and no file is touched.
  const mtimes = async () => (await sh('stat -c "%n %Y" /etc/containerd/config.toml /var/lib/kubestrap/kubeadm.yaml /etc/systemd/system/kubelet.service ' + `${BIN}/kubelet`)).stdout;
  const before = await mtimes();
  const again = await cli('plan', recipe, '--format', 'json', ...ONLY);
  assert.equal(again.code, 0, again.stderr);
  const second = again.json();
  assert.deepEqual(second.steps.filter((s) => s.status !== 'ok').map((s) => s.id), []);
  assert.equal(second.summary.commands, 0);
  const rerun = await cli('run', recipe, '--yes', ...ONLY);
  assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
  assert.equal(await mtimes(), before);
  phase('second run');
  assert.equal(release.requests.filter((p) => !/\.sha256(sum)?$/.test(p)).length, downloaded, 'nothing downloaded again');

  // Another profile on the same machine is refused, with the reason and the way out.
  const other = await cli('plan', recipe, '-p', 'second', ...ONLY);
  assert.equal(other.code, 3, other.stdout + other.stderr);
  assert.match(other.stdout, /already hosts kubestrap cluster 'kubestrap' \(driver none\).*kubestrap delete -p kubestrap/);

  // delete: the plan lists every path with its size and where the backups are; then it is gone.
  const dplan = await cli('plan', removal, '--format', 'json');
  assert.equal(dplan.code, 0, dplan.stderr);
  const erased = dplan.json().steps.flatMap((s) => s.effects).filter((e) => e.kind === 'remove' && e.exists);
  assert.deepEqual(erased.map((e) => e.kind === 'remove' && e.path), [
    '/etc/systemd/system/kubelet.service.d', '/etc/systemd/system/kubelet.service', '/etc/modules-load.d/kubestrap.conf', '/etc/sysctl.d/99-kubestrap.conf', '/var/lib/kubestrap',
  ]);
  assert.ok(erased.every((e) => e.kind === 'remove' && typeof e.bytes === 'number' && e.bytes > 0));
  const notes = dplan.json().steps.flatMap((s) => s.notes ?? []).map((n) => n.message).join('\n');
  assert.match(notes, /kept in \/home\/kube\/\.kubestrap\/backups\/kubestrap: \/etc\/containerd\/config\.toml/);
  const del = await cli('run', removal, '--yes');
  assert.equal(del.code, 0, del.stdout + del.stderr);
  assert.equal((await sh('ls -d /var/lib/kubestrap /etc/systemd/system/kubelet.service /etc/systemd/system/kubelet.service.d /etc/modules-load.d/kubestrap.conf /etc/sysctl.d/99-kubestrap.conf 2>/dev/null')).stdout, '');
  assert.notEqual((await sh('systemctl is-enabled kubelet')).stdout.trim(), 'enabled');
  assert.equal((await sh('ctr version')).exitCode, 0, 'the runtime stays');
  const after = await cli('plan', removal, '--format', 'json');
  assert.deepEqual(after.json().steps.map((s) => s.status), ['ok']);
  t.diagnostic(`none e2e took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

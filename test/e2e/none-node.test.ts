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
import { DOCKER_INSTALL, startDockerd } from '../helpers/dockerd.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { startRelease } from '../helpers/k8s-release.ts';
import { execIn, MMDEBSTRAP_INSTALL, nodeImage, startNodeContainer } from '../helpers/node-image.ts';
import { crictlVersion, parseKubernetesVersion } from '../../tasks/k8s/versions.ts';
import { KUBEADM_RESET_ERASES, kubeadmInitWrites } from '../../tasks/k8s/paths.ts';
import { parseAllDocuments } from 'yaml';

// 1.35+: on this cgroup v1 machine the kubelet must be told to accept cgroup v1.
const VERSION = 'v1.35.9';
const CRICTL = crictlVersion(parseKubernetesVersion(VERSION));
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
  writeFileSync(
    recipe,
    [
      'name: none-node-e2e',
      'hosts:',
      '  node:',
      `    docker: { container: ${name}, socket: ${socket}, user: kube }`,
      'steps:',
      '  - id: cluster',
      '    recipe: driver-none',
      `    with: { host: node, kubernetesVersion: ${VERSION}, binaryMirror: "${release.binaryMirror}", criToolsMirror: "${release.criToolsMirror}", containerdMirror: "${release.containerdMirror}", runcMirror: "${release.runcMirror}", cniPluginsMirror: "${release.cniPluginsMirror}" }`,
      '',
    ].join('\n'),
  );
  const removal = join(work, 'delete.yaml');
  writeFileSync(
    removal,
    [
      'name: none-node-e2e-delete',
      'hosts:',
      '  node:',
      `    docker: { container: ${name}, socket: ${socket}, user: kube }`,
      'steps:',
      '  - id: cluster',
      '    recipe: delete-none',
      '    with: { host: node }',
      '',
    ].join('\n'),
  );
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
  const initWrites = kubeadmInitWrites(parseKubernetesVersion(VERSION));
  assert.deepEqual(init, [{
    kind: 'exec',
    host: `docker:${name}`,
    sudo: true,
    simple: true,
    // cgroup v1 here: kubeadm's SystemVerification fails on it from 1.35, so it is skipped (and said).
    command:
      `env PATH=${BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin kubeadm init --config /var/lib/kubestrap/kubeadm.yaml --ignore-preflight-errors=SystemVerification`,
    // Everything kubeadm writes, declared, none there yet on a fresh node.
    declares: initWrites.map((path) => ({ path, action: 'write', exists: false })),
  }]);
  const warnings = step(plan, 'cluster.preflight').notes?.map((n) => n.message).join('\n') ?? '';
  assert.match(warnings, /uses cgroup v1, which the kubelet of Kubernetes v1\.35\.9 refuses by default: kubestrap sets failCgroupV1: false/);
  // What the kubelet needs to start on this cgroup v1 machine, in the configuration kubeadm hands it.
  const kubeadmYaml = writes(plan).get('/var/lib/kubestrap/kubeadm.yaml')!.content!;
  const kubelet = parseAllDocuments(kubeadmYaml).map((d) => d.toJS()).find((d) => d.kind === 'KubeletConfiguration');
  assert.equal(kubelet.failCgroupV1, false);
  assert.equal(kubelet.cgroupDriver, 'systemd');
  assert.equal((await sh('test -e /sys/fs/cgroup/cgroup.controllers || echo v1')).stdout.trim(), 'v1', 'the node sees cgroup v1');
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
  for (
    const path of [
      '/etc/containerd/config.toml',
      '/etc/crictl.yaml',
      '/var/lib/kubestrap/kubeadm.yaml',
      '/etc/systemd/system/kubelet.service',
      '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf',
      '/var/lib/kubestrap/cluster.json',
    ]
  ) {
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
  assert.equal((await sh(`${BIN}/crictl --version`)).stdout.trim(), `crictl version ${CRICTL}`);
  const downloaded = release.requests.filter((p) => !/\.sha256(sum)?$/.test(p)).length;
  // Debian 12's containerd 1.6.20 is too old for current minors: containerd's release and runc come too.
  assert.equal(downloaded, 7, 'kubelet, kubeadm, kubectl, the crictl tarball, containerd, runc and the CNI plugins, once each');
  // The control plane's name, merged into the container's /etc/hosts (a mount point: written into).
  const hosts = await sh('cat /etc/hosts');
  assert.match(hosts.stdout, new RegExp(`^\\d+\\.\\d+\\.\\d+\\.\\d+\\tcontrol-plane\\.kubestrap\\.internal\\t# kubestrap`, 'm'));
  assert.match(hosts.stdout, /^127\.0\.0\.1\s+localhost$/m, 'the lines the engine wrote stay');
  assert.equal((await sh('getent hosts control-plane.kubestrap.internal')).exitCode, 0);

  // A second run changes nothing: every step is already done and no file is touched.
  const mtimes = async () =>
    (await sh('stat -c "%n %Y" /etc/containerd/config.toml /var/lib/kubestrap/kubeadm.yaml /etc/systemd/system/kubelet.service ' + `${BIN}/kubelet`)).stdout;
  const before = await mtimes();
  const again = await cli('plan', recipe, '--format', 'json', ...ONLY);
  assert.equal(again.code, 0, again.stderr);
  const second = again.json();
  const pending = second.steps.filter((s) => s.status !== 'ok');
  assert.deepEqual(pending.map((s) => s.id), [], JSON.stringify(pending.map((s) => s.effects)).slice(0, 3000));
  assert.equal(second.summary.commands, 0);
  const rerun = await cli('run', recipe, '--yes', ...ONLY);
  assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
  assert.equal(await mtimes(), before);
  phase('second run');
  assert.equal(release.requests.filter((p) => !/\.sha256(sum)?$/.test(p)).length, downloaded, 'nothing downloaded again');

  // kubeadm init (TEST DOUBLE: the stand-in writes exactly the declared files): the run compares
  // what it declared with what really happened, and says so.
  const initRun = await cli('run', recipe, '--yes', '--json', '--only', 'cluster.init');
  assert.equal(initRun.code, 0, initRun.stdout + initRun.stderr);
  const initNotes = initRun.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'note' && e.step === 'cluster.init').map((
    e,
  ) => e.note.message);
  assert.deepEqual(initNotes, [`kubeadm init wrote and erased exactly the ${initWrites.length} declared paths`]);
  for (const f of initWrites) assert.equal((await sh(`test -e ${f}`)).exitCode, 0, f);

  // Another profile on the same machine is refused, with the reason and the way out.
  const other = await cli('plan', recipe, '-p', 'second', ...ONLY);
  assert.equal(other.code, 3, other.stdout + other.stderr);
  assert.match(other.stdout, /already hosts kubestrap cluster 'kubestrap' \(driver none\).*kubestrap delete -p kubestrap/);

  // delete: the plan lists every path with its size and where the backups are; then it is gone.
  const dplan = await cli('plan', removal, '--format', 'json');
  assert.equal(dplan.code, 0, dplan.stderr);
  const erased = dplan.json().steps.flatMap((s) => s.effects).filter((e) => e.kind === 'remove' && e.exists);
  assert.deepEqual(erased.map((e) => e.kind === 'remove' && e.path), [
    '/etc/systemd/system/kubelet.service.d',
    '/etc/systemd/system/kubelet.service',
    '/etc/kubernetes',
    '/var/lib/kubelet',
    '/etc/cni/net.d/1-kubestrap-bridge.conflist',
    '/etc/modules-load.d/kubestrap.conf',
    '/etc/sysctl.d/99-kubestrap.conf',
    '/var/lib/kubestrap',
  ]);
  // containerd keeps /etc/cni/net.d for root only: the bridge config is erased without a size (this user cannot see it).
  const hidden = erased.find((e) => e.kind === 'remove' && e.path.startsWith('/etc/cni/'));
  assert.ok(hidden && hidden.kind === 'remove' && hidden.bytes === undefined);
  // kubeadm reset first, with what it erases declared and sized.
  const reset = dplan.json().steps.flatMap((s) => s.effects).find((e) => e.kind === 'exec' && e.command.includes('kubeadm reset'));
  assert.ok(reset && reset.kind === 'exec');
  assert.deepEqual(reset.declares!.map((d) => d.path), KUBEADM_RESET_ERASES);
  assert.ok(reset.declares!.find((d) => d.path === '/etc/kubernetes/admin.conf')!.exists);
  assert.ok(erased.filter((e) => e !== hidden).every((e) => e.kind === 'remove' && typeof e.bytes === 'number' && e.bytes > 0));
  const notes = dplan.json().steps.flatMap((s) => s.notes ?? []).map((n) => n.message).join('\n');
  assert.match(notes, /kept in \/home\/kube\/\.kubestrap\/backups\/kubestrap: \/etc\/containerd\/config\.toml/);
  const del = await cli('run', removal, '--yes', '--json');
  assert.equal(del.code, 0, del.stdout + del.stderr);
  const resetNotes = del.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'note' && /kubeadm reset/.test(e.note.message))
    .map((e) => e.note.message);
  assert.deepEqual(resetNotes, [`kubeadm reset wrote and erased exactly the ${KUBEADM_RESET_ERASES.length} declared paths`]);
  assert.equal((await sh('grep -c control-plane.kubestrap.internal /etc/hosts')).stdout.trim(), '0', 'delete takes the name out of /etc/hosts');
  assert.equal((await sh('test -e /etc/cni/net.d/1-kubestrap-bridge.conflist')).exitCode, 1, 'and the bridge configuration');
  assert.equal(
    (await sh(
      'ls -d /var/lib/kubestrap /etc/systemd/system/kubelet.service /etc/systemd/system/kubelet.service.d /etc/modules-load.d/kubestrap.conf /etc/sysctl.d/99-kubestrap.conf 2>/dev/null',
    )).stdout,
    '',
  );
  assert.notEqual((await sh('systemctl is-enabled kubelet')).stdout.trim(), 'enabled');
  assert.equal((await sh('ctr version')).exitCode, 0, 'the runtime stays');
  const after = await cli('plan', removal, '--format', 'json');
  assert.deepEqual(after.json().steps.map((s) => s.status), ['ok']);
  t.diagnostic(`none e2e took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

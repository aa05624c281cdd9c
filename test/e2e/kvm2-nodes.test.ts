// kvm2 with --nodes 2, for real: the shipped driver-kvm2 recipe on a private libvirtd creates the
// control plane's VM and a worker's (PROFILE-m02) side by side on one private network, both TCG
// domains booting the guest image this suite builds from Debian packages; each takes its own DHCP
// lease and answers SSH with its own generated key, and the node graph runs in both as far as this
// machine allows (no package mirror: up to the node's preparation). delete-kvm2 then removes both
// domains, both machine directories and the network. The join itself needs a control plane, which
// needs an image registry: it is covered by its plan (the golden kvm2-containerd-3node) and by
// test/join-over-ssh.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDocument } from '../../core/plan.ts';
import { readState } from '../../core/profile.ts';
import { runCli } from '../helpers/cli.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { GUEST_INSTALL, guestImage } from '../helpers/guest-image.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { LIBVIRT_INSTALL, startLibvirtd } from '../helpers/libvirtd.ts';

const skip = missing(
  ['libvirtd', 'virtlogd', 'virsh', 'dnsmasq', 'unshare', 'mmdebstrap', 'qemu-img', 'genisoimage', 'ssh', 'ssh-keygen'],
  `${LIBVIRT_INSTALL}; ${GUEST_INSTALL}; apt-get install genisoimage openssh-client`,
);

function ssh(key: string, address: string, command: string): string {
  const o = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
  return execFileSync('ssh', ['-i', key, ...o, `docker@${address}`, command], { encoding: 'utf8' });
}

test('kvm2 --nodes 2: two TCG VMs on one network, each with its own lease, key and node graph; delete removes both', {
  skip,
  timeout: 1_800_000,
}, async (t) => {
  const id = randomBytes(3).toString('hex');
  const work = tempDir(t, 'ks-kvmnodes-');
  const image = await guestImage();
  const http = await startHttpServer(t);
  http.serve('/guest.qcow2', { file: image.disk });
  http.serve('/SHA256SUMS', { bytes: Buffer.from(`${image.sha256}  guest.qcow2\n`) });
  const lv = await startLibvirtd(t);
  const env = { KUBESTRAP_HOME: join(work, 'home') };
  const profile = `kn${id}`;
  const sets = Object.entries({
    kvmQemuUri: lv.uri,
    network: `ks-kn-${id}`,
    kvmNetwork: `ks-knnat-${id}`,
    bridge: lv.bridge(`ksn${id}`),
    kvmBridge: lv.bridge(`ksm${id}`),
    subnetStart: '192.168.234.0',
    kvmSubnetStart: '192.168.248.0',
    imageUrl: http.url('/guest.qcow2'),
    imageChecksumUrl: http.url('/SHA256SUMS'),
    kernel: image.kernel,
    initrd: image.initrd,
    cmdline: image.cmdline,
    cpus: 1,
    memory: 768,
    diskSize: '4g',
    nodes: 2,
    worker1: true,
    ipTimeout: 400,
    sshTimeout: 400,
  }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const only = ['--only', 'node.prepare', '--only', 'm02.prepare'];

  const plan = await runCli(['plan', 'driver-kvm2', ...sets, ...only, '--format', 'json', '-p', profile], { env, cwd: work });
  assert.equal(plan.code, 0, plan.stderr);
  const doc = JSON.parse(plan.stdout) as PlanDocument;
  // Both machines come from the one network step, side by side.
  assert.deepEqual(doc.steps.filter((s) => s.task === 'provision-vm').map((s) => s.id), ['vm', 'm02-vm']);

  const started = Date.now();
  const run = await runCli(['run', 'driver-kvm2', ...sets, ...only, '--yes', '--json', '-p', profile], { env, cwd: work });
  t.diagnostic(`two VMs up to the nodes' preparation after ${((Date.now() - started) / 1000).toFixed(1)} s (TCG)`);
  const events = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: string; error?: string });
  const failed = events.filter((e) => e.type === 'step-failed').map((e) => `${e.step}: ${e.error}`);
  assert.equal(run.code, 0, failed.join('\n') + run.stderr);
  const finished = new Set(events.filter((e) => e.type === 'step-finish').map((e) => e.step));
  for (const s of ['vm', 'm02-vm', 'node.preflight', 'node.claim', 'node.prepare', 'm02.preflight', 'm02.claim', 'm02.prepare']) assert.ok(finished.has(s), s);

  const state = readState(env.KUBESTRAP_HOME, profile)!;
  const out = (step: string) => state.steps.find((s) => s.id === step)!.outputs as { address: string; sshKey: string; domain: string; mac: string };
  const [cp, worker] = [out('vm'), out('m02-vm')];
  assert.equal(cp.domain, profile);
  assert.equal(worker.domain, `${profile}-m02`);
  assert.notEqual(cp.address, worker.address);
  assert.notEqual(cp.mac, worker.mac);
  for (const a of [cp.address, worker.address]) assert.match(a, /^192\.168\.234\.\d+$/);
  assert.equal(cp.sshKey, join(work, 'home', 'profiles', profile, 'machine', 'id_ed25519'));
  assert.equal(worker.sshKey, join(work, 'home', 'profiles', profile, 'machine-m02', 'id_ed25519'));
  // Each answers with its own key, as its own host, and carries the profile's claim.
  for (const [m, name] of [[cp, profile], [worker, `${profile}-m02`]] as const) {
    const said = ssh(m.sshKey, m.address, 'hostname; cat /var/lib/kubestrap/cluster.json');
    assert.match(said, new RegExp(`^${name}\\n.*"profile":"${profile}","driver":"kvm2"`, 's'));
  }
  // The worker reaches the control plane on the private network (its sshd).
  ssh(worker.sshKey, worker.address, `timeout 10 bash -c 'exec 3<>/dev/tcp/${cp.address}/22'`);

  // delete lists both machines, then removes them, their directories and the private network.
  const delSets = ['--set', `kvmQemuUri=${lv.uri}`, '--set', `network=ks-kn-${id}`];
  const delPlan = await runCli(['plan', 'delete-kvm2', ...delSets, '--format', 'json', '-p', profile], { env, cwd: work });
  assert.equal(delPlan.code, 0, delPlan.stderr);
  const q = `'${lv.uri}'`;
  assert.deepEqual(
    (JSON.parse(delPlan.stdout) as PlanDocument).steps[0]!.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command),
    [
      `virsh -c ${q} destroy ${profile}`,
      `virsh -c ${q} undefine ${profile}`,
      `virsh -c ${q} destroy ${profile}-m02`,
      `virsh -c ${q} undefine ${profile}-m02`,
      `virsh -c ${q} net-destroy ks-kn-${id}`,
      `virsh -c ${q} net-undefine ks-kn-${id}`,
    ],
  );
  const deleted = await runCli(['run', 'delete-kvm2', ...delSets, '--yes', '-p', profile], { env, cwd: work });
  assert.equal(deleted.code, 0, deleted.stdout + deleted.stderr);
  for (const d of [profile, `${profile}-m02`]) assert.equal((await lv.virsh('domstate', d)).ok, false, d);
  assert.equal((await lv.virsh('net-info', `ks-kn-${id}`)).ok, false);
  for (const dir of ['machine', 'machine-m02']) assert.equal(existsSync(join(work, 'home', 'profiles', profile, dir)), false, dir);
});

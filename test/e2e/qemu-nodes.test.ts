// qemu with --nodes 2, for real: the shipped driver-qemu recipe starts the control plane's VM and a
// worker's (PROFILE-m02) side by side under TCG, each booting the guest image this suite builds from
// Debian packages. Each answers SSH through its own forward on 127.0.0.1; their second NICs share
// the profile's multicast bus on 127.0.0.1, where cloud-init gave each its fixed address from the
// seed's network-config; the worker reaches the control plane there, and the node graph runs in both
// as far as this machine allows (up to the node's preparation), with the bus address as the node's
// address. delete-qemu then stops both and removes both machine directories. The join needs a
// control plane (an image registry): its plan is the golden qemu-containerd-2node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDocument } from '../../core/plan.ts';
import { readState } from '../../core/profile.ts';
import { busOf } from '../../tasks/vm/cluster-network.ts';
import { runCli } from '../helpers/cli.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { GUEST_INSTALL, guestImage } from '../helpers/guest-image.ts';
import { startHttpServer } from '../helpers/http-server.ts';

const skip = missing(
  ['qemu-system-x86_64', 'mmdebstrap', 'qemu-img', 'genisoimage', 'ssh', 'ssh-keygen'],
  `apt-get install qemu-system-x86 genisoimage openssh-client; ${GUEST_INSTALL}`,
);

function ssh(m: { sshKey: string; sshPort: number }, command: string): string {
  const o = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
  return execFileSync('ssh', ['-i', m.sshKey, '-p', String(m.sshPort), ...o, 'docker@127.0.0.1', command], { encoding: 'utf8' });
}

test('qemu --nodes 2: two TCG VMs on the profile bus, each at its fixed address with its own forward, key and node graph; delete stops both', {
  skip,
  timeout: 1_800_000,
}, async (t) => {
  const id = randomBytes(3).toString('hex');
  const work = tempDir(t, 'ks-qemunodes-');
  const image = await guestImage();
  const http = await startHttpServer(t);
  http.serve('/guest.qcow2', { file: image.disk });
  const env = { KUBESTRAP_HOME: join(work, 'home') };
  const profile = `qn${id}`;
  const profileDir = join(work, 'home', 'profiles', profile);
  const dirs = [join(profileDir, 'machine'), join(profileDir, 'machine-m02')];
  // No VM may outlive a failed test.
  t.after(() => {
    for (const dir of dirs) {
      try {
        execFileSync('kill', ['-9', readFileSync(join(dir, 'qemu.pid'), 'utf8').trim()], { stdio: 'ignore' });
      } catch { /* not running */ }
    }
  });
  const sets = Object.entries({
    imageUrl: http.url('/guest.qcow2'),
    imageSha256: image.sha256,
    kernel: image.kernel,
    initrd: image.initrd,
    cmdline: image.cmdline,
    cpus: 1,
    memory: 768,
    diskSize: '4g',
    nodes: 2,
    worker1: true,
    sshTimeout: 600,
  }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const only = ['--only', 'node.prepare', '--only', 'm02.prepare'];

  const plan = await runCli(['plan', 'driver-qemu', ...sets, ...only, '--format', 'json', '-p', profile], { env, cwd: work });
  assert.equal(plan.code, 0, plan.stderr);
  const doc = JSON.parse(plan.stdout) as PlanDocument;
  const vms = doc.steps.filter((s) => s.task === 'provision-qemu-vm');
  assert.deepEqual(vms.map((s) => s.id), ['vm', 'm02-vm']);
  // Both NICs on the bus: the profile's group and port, bound to loopback; each VM its own MAC.
  const bus = busOf(profile);
  const commands = vms.map((s) => (s.effects.find((e) => e.kind === 'exec' && e.command.startsWith('qemu-system-x86_64 ')) as { command: string }).command);
  const busNics = commands.map((c) => {
    assert.ok(c.includes(` -netdev socket,id=net1,mcast=${bus.group}:${bus.port},localaddr=127.0.0.1 `), c);
    return /-device virtio-net-pci,netdev=net1,mac=([0-9a-f:]+)/.exec(c)![1];
  });
  assert.notEqual(busNics[0], busNics[1]);
  // Only the control plane forwards the API server.
  assert.match(commands[0]!, /hostfwd=tcp:127\.0\.0\.1:\d+-:22,hostfwd=tcp:127\.0\.0\.1:\d+-:8443 /);
  assert.match(commands[1]!, /hostfwd=tcp:127\.0\.0\.1:\d+-:22 /);

  const started = Date.now();
  const run = await runCli(['run', 'driver-qemu', ...sets, ...only, '--yes', '--json', '-p', profile], { env, cwd: work });
  t.diagnostic(`two VMs up to the nodes' preparation after ${((Date.now() - started) / 1000).toFixed(1)} s (TCG)`);
  const events = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: string; error?: string });
  const failed = events.filter((e) => e.type === 'step-failed').map((e) => `${e.step}: ${e.error}`);
  assert.equal(run.code, 0, failed.join('\n') + run.stderr);
  const finished = new Set(events.filter((e) => e.type === 'step-finish').map((e) => e.step));
  for (const s of ['vm', 'm02-vm', 'node.preflight', 'node.claim', 'node.prepare', 'm02.preflight', 'm02.claim', 'm02.prepare']) assert.ok(finished.has(s), s);

  const state = readState(env.KUBESTRAP_HOME, profile)!;
  const out = (step: string) => state.steps.find((s) => s.id === step)!.outputs as Record<string, unknown>;
  type Vm = { sshKey: string; sshPort: number; clusterAddress: string };
  const [cp, worker] = [out('vm') as Vm, out('m02-vm') as Vm];
  assert.deepEqual([cp.clusterAddress, worker.clusterAddress], ['192.168.105.2', '192.168.105.3']);
  assert.notEqual(cp.sshPort, worker.sshPort);
  assert.equal(cp.sshKey, join(dirs[0]!, 'id_ed25519'));
  assert.equal(worker.sshKey, join(dirs[1]!, 'id_ed25519'));
  // The node graph took the bus address as the node's address, not user-mode networking's 10.0.2.15.
  assert.equal(out('node.preflight').nodeIp, '192.168.105.2');
  assert.equal(out('m02.preflight').nodeIp, '192.168.105.3');
  for (const [m, name, address] of [[cp, profile, '192.168.105.2'], [worker, `${profile}-m02`, '192.168.105.3']] as const) {
    const said = ssh(m, 'hostname; ip -4 -o addr show dev eth1; cat /var/lib/kubestrap/cluster.json');
    assert.match(said, new RegExp(`^${name}\\n\\d+: eth1 +inet ${address.replace(/\./g, '\\.')}/24 .*"profile":"${profile}","driver":"qemu"`, 's'));
  }
  // The worker reaches the control plane on the bus (its sshd).
  ssh(worker, `timeout 20 bash -c 'until exec 3<>/dev/tcp/192.168.105.2/22; do sleep 1; done'`);

  // delete stops both VMs and removes both machine directories.
  const pids = dirs.map((d) => Number(readFileSync(join(d, 'qemu.pid'), 'utf8')));
  const del = await runCli(['run', 'delete-qemu', '--yes', '-p', profile], { env, cwd: work });
  assert.equal(del.code, 0, del.stdout + del.stderr);
  for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `qemu ${pid} is stopped`);
  for (const d of dirs) assert.equal(existsSync(d), false, d);
});

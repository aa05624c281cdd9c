// provision-vm for real: a private libvirtd, a private network from create-libvirt-network, and a
// type='qemu' (TCG) domain booting the guest image this suite builds from Debian packages
// (test/helpers/guest-image.ts), downloaded by the task from a loopback HTTP server and verified
// against the SHA256SUMS served beside it. The guest takes its address from the network's DHCP and
// answers over SSH with the key kubestrap generated. One guest at a time, at low priority.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDocument } from '../../core/plan.ts';
import { readState } from '../../core/profile.ts';
import { runCli } from '../helpers/cli.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { GUEST_INSTALL, guestImage } from '../helpers/guest-image.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { LIBVIRT_INSTALL, startLibvirtd } from '../helpers/libvirtd.ts';

const skip = missing(
  ['libvirtd', 'virtlogd', 'virsh', 'virt-xml-validate', 'dnsmasq', 'unshare', 'mmdebstrap', 'qemu-img', 'genisoimage', 'ssh', 'ssh-keygen'],
  `${LIBVIRT_INSTALL}; ${GUEST_INSTALL}; apt-get install genisoimage libxml2-utils openssh-client`,
);

const RECIPE = `name: vm
description: check-virt, the networks and the VM
params:
  uri: { default: "" }
  network: { default: "" }
  kvmNetwork: { default: "" }
  bridge: { default: "" }
  kvmBridge: { default: "" }
  imageUrl: { default: "" }
  imageChecksumUrl: { default: "" }
  kernel: { default: "" }
  initrd: { default: "" }
  cmdline: { default: "" }
  ipTimeout: { default: 240 }
steps:
  - id: check
    task: check-virt
  - id: network
    task: create-libvirt-network
    needs: [check]
    with:
      uri: \${{ params.uri }}
      network: \${{ params.network }}
      kvmNetwork: \${{ params.kvmNetwork }}
      bridge: \${{ params.bridge }}
      kvmBridge: \${{ params.kvmBridge }}
      subnetStart: 192.168.233.0
      kvmSubnetStart: 192.168.249.0
      home: \${{ env.KUBESTRAP_HOME }}
  - id: vm
    task: provision-vm
    needs: [network]
    with:
      uri: \${{ params.uri }}
      network: \${{ steps.network.outputs.network }}
      kvmNetwork: \${{ steps.network.outputs.kvmNetwork }}
      cpus: 1
      memory: 768
      diskSize: 4g
      imageUrl: \${{ params.imageUrl }}
      imageChecksumUrl: \${{ params.imageChecksumUrl }}
      kernel: \${{ params.kernel }}
      initrd: \${{ params.initrd }}
      cmdline: \${{ params.cmdline }}
      kvm: \${{ steps.check.outputs.kvm }}
      home: \${{ env.KUBESTRAP_HOME }}
      ipTimeout: \${{ params.ipTimeout }}
      sshTimeout: 400
`;

test('provision-vm: a TCG domain boots the guest image, gets a DHCP lease and answers SSH with the generated key', { skip, timeout: 1_200_000 }, async (t) => {
  const id = randomBytes(3).toString('hex');
  const work = tempDir(t, 'ks-kvmvm-');
  const image = await guestImage();
  const http = await startHttpServer(t);
  http.serve('/guest.qcow2', { file: image.disk });
  http.serve('/SHA256SUMS', { bytes: Buffer.from(`${image.sha256}  guest.qcow2\n`) });
  const lv = await startLibvirtd(t);
  const env = { KUBESTRAP_HOME: join(work, 'home') };
  const file = join(work, 'vm.yaml');
  writeFileSync(file, RECIPE);
  const profile = `vm${id}`;
  const sets = Object.entries({
    uri: lv.uri,
    network: `ks-vm-${id}`,
    kvmNetwork: `ks-vmnat-${id}`,
    bridge: lv.bridge(`ksv${id}`),
    kvmBridge: lv.bridge(`ksw${id}`),
    imageUrl: http.url('/guest.qcow2'),
    imageChecksumUrl: http.url('/SHA256SUMS'),
    kernel: image.kernel,
    initrd: image.initrd,
    cmdline: image.cmdline,
  }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const dir = join(work, 'home', 'profiles', profile, 'machine');

  // The plan: every command, the domain XML in full, TCG because KVM cannot run a guest here.
  const plan = await runCli(['plan', file, ...sets, '--format', 'json', '-p', profile], { env, cwd: work });
  assert.equal(plan.code, 0, plan.stderr);
  const vm = (JSON.parse(plan.stdout) as PlanDocument).steps.find((s) => s.id === 'vm')!;
  const execs = vm.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command.split('\n')[0]);
  assert.deepEqual(execs.map((c) => c!.replace(lv.uri, 'URI').replace(/'URI'/g, 'URI').split(dir).join('DIR')), [
    'mkdir -p DIR',
    ...execs.filter((c) => c!.startsWith('chmod o+x ')).map((c) => c!.split(dir).join('DIR')),
    `ssh-keygen -q -t ed25519 -N '' -C kubestrap-${profile} -f DIR/id_ed25519`,
    'genisoimage -quiet -output DIR/seed.iso -volid cidata -joliet -rock DIR/seed/user-data DIR/seed/meta-data',
    `qemu-img create -q -f qcow2 -F qcow2 -b ${join(work, 'home', 'cache', 'downloads')}/${
      (vm.effects.find((e) => e.kind === 'download' && e.url.endsWith('/guest.qcow2'))! as { path: string }).path.split('/').slice(-2).join('/')
    } DIR/disk.qcow2 4096M`,
    'virsh -c URI define DIR/domain.xml',
    `virsh -c URI start ${profile}`,
    "sh -c 'end=$(( $(date +%s) + $4 ))",
    "sh -c 'end=$(( $(date +%s) + $4 ))",
  ]);
  const xml = vm.effects.find((e) => e.kind === 'write' && e.path.endsWith('/domain.xml')) as { content: string };
  assert.match(xml.content, /^<domain type='qemu'>/);
  assert.ok(vm.notes?.some((n) => n.message.startsWith("the VM runs under TCG emulation (type='qemu') because KVM is")), JSON.stringify(vm.notes));
  const userData = vm.effects.find((e) => e.kind === 'write' && e.path.endsWith('/seed/user-data')) as { content: string };
  assert.match(userData.content, /ssh_authorized_keys:\n {6}- "<output of ssh-keygen of id_ed25519>"/);

  // A lease timeout far shorter than a TCG boot: the error users meet, with the lease table and the hint.
  const short = await runCli(['run', file, ...sets, '--set', 'ipTimeout=1', '--yes', '-p', profile], { env, cwd: work });
  assert.equal(short.code, 1, short.stdout + short.stderr);
  assert.match(
    short.stdout + short.stderr,
    /Machine didn't return an IP after 1 seconds \(MAC 52:54:00:[0-9a-f:]{8} on network 'ks-vm-[0-9a-f]+'; leases: none\) \(a firewall dropping DHCP \(udp 67\/68\) on ksv[0-9a-f]+ is the usual cause: kubestrap doctor --driver kvm2 checks it; the console log is .*console\.log\) \[PR_KVM_NO_IP\]/,
  );

  // The same run again: the domain is running, so it only waits for the lease and SSH.
  const started = Date.now();
  const run = await runCli(['run', file, ...sets, '--yes', '-p', profile], { env, cwd: work });
  t.diagnostic(`lease and SSH after ${((Date.now() - started) / 1000).toFixed(1)} s (TCG)`);
  assert.equal(run.code, 0, run.stdout + run.stderr + tailOf(join(dir, 'console.log')));
  const outputs = readState(env.KUBESTRAP_HOME, profile)!.steps.find((s) => s.id === 'vm')!.outputs as Record<string, unknown>;
  assert.match(String(outputs.address), /^192\.168\.233\.\d+$/);
  assert.equal(outputs.sshUser, 'docker');
  assert.equal(statSync(join(dir, 'id_ed25519')).mode & 0o777, 0o600);

  // Independently of kubestrap: the lease is the domain's MAC, and SSH with the key works.
  const leases = (await lv.virsh('net-dhcp-leases', `ks-vm-${id}`)).stdout;
  assert.match(leases, new RegExp(`${outputs.mac}\\s+ipv4\\s+${String(outputs.address).replace(/\./g, '\\.')}/24`));
  const hostname = execFileSync('ssh', [
    '-i',
    join(dir, 'id_ed25519'),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    `docker@${outputs.address}`,
    'hostname; sudo -n id -u',
  ], { encoding: 'utf8' });
  assert.equal(hostname, `${profile}\n0\n`);
  execFileSync('virt-xml-validate', [join(dir, 'domain.xml'), 'domain']);
  const live = (await lv.virsh('dumpxml', profile)).stdout;
  assert.match(live, /<domain type='qemu'/);
  assert.match(live, /<acpi\/>/);

  // Done: a new plan changes nothing.
  const again = await runCli(['plan', file, ...sets, '--format', 'json', '-p', profile], { env, cwd: work });
  assert.equal((JSON.parse(again.stdout) as PlanDocument).steps.find((s) => s.id === 'vm')!.status, 'ok');

  // The shipped kvm2 recipe finds the machine and its networks done, and its node graph runs over
  // SSH in the guest as far as this machine allows (no package mirror: up to the node's preparation).
  const shipped = [
    '--set',
    `kvmQemuUri=${lv.uri}`,
    '--set',
    `network=ks-vm-${id}`,
    '--set',
    `kvmNetwork=ks-vmnat-${id}`,
    '--set',
    'subnetStart=192.168.233.0',
    '--set',
    'kvmSubnetStart=192.168.249.0',
    '--only',
    'node.prepare',
  ];
  const node = await runCli(['run', 'driver-kvm2', ...shipped, '--yes', '--json', '-p', profile], { env, cwd: work });
  const nodeEvents = node.stdout.split('\n').filter(Boolean).map((l) =>
    JSON.parse(l) as { type: string; step?: string; status?: string; error?: string; plan?: PlanDocument }
  );
  const finished = nodeEvents.filter((e) => e.type === 'step-finish' || e.type === 'step-failed').map((e) => `${e.step} ${e.status ?? `failed: ${e.error}`}`);
  // A plan that failed is the plan event alone: its failed steps say why.
  const planFailures = nodeEvents.flatMap((e) => e.plan?.steps.filter((s) => s.status === 'failed').map((s) => `${s.id} (plan) failed: ${s.error}`) ?? []);
  assert.equal(node.code, 0, [...planFailures, ...finished].join('\n') + node.stderr);
  assert.deepEqual(finished.filter((f) => !f.startsWith('node.')), ['check-virt ok', 'network ok', 'vm ok']);
  assert.deepEqual(finished.filter((f) => f.startsWith('node.')).map((f) => f.split(' ')[0]), ['node.preflight', 'node.claim', 'node.prepare']);
  const claim = execFileSync('ssh', [
    '-i',
    join(dir, 'id_ed25519'),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    `docker@${outputs.address}`,
    'cat /var/lib/kubestrap/cluster.json; cat /proc/sys/net/ipv4/ip_forward',
  ], { encoding: 'utf8' });
  assert.match(claim, new RegExp(`"profile":"${profile}","driver":"kvm2"`));
  assert.match(claim, /\n1\n$/);

  // delete lists everything first, then destroys the domain, its files and the private network.
  const delSets = ['--set', `kvmQemuUri=${lv.uri}`, '--set', `network=ks-vm-${id}`];
  const delPlan = await runCli(['plan', 'delete-kvm2', ...delSets, '--format', 'json', '-p', profile], { env, cwd: work });
  assert.equal(delPlan.code, 0, delPlan.stderr);
  const del = (JSON.parse(delPlan.stdout) as PlanDocument).steps[0]!;
  const q = `'${lv.uri}'`;
  assert.deepEqual(del.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command), [
    `virsh -c ${q} destroy ${profile}`,
    `virsh -c ${q} undefine ${profile}`,
    `virsh -c ${q} net-destroy ks-vm-${id}`,
    `virsh -c ${q} net-undefine ks-vm-${id}`,
  ]);
  const removes = del.effects.filter((e) => e.kind === 'remove') as { path: string; exists: boolean; bytes?: number }[];
  assert.deepEqual(removes.map((r) => r.path.split(dir).join('DIR')), [
    'DIR/disk.qcow2',
    'DIR/seed.iso',
    'DIR/seed',
    'DIR/domain.xml',
    'DIR/console.log',
    'DIR/id_ed25519',
    'DIR/id_ed25519.pub',
    'DIR',
  ]);
  assert.ok(removes.every((r) => r.exists && (r.bytes ?? 0) > 0), JSON.stringify(removes));
  const deleted = await runCli(['run', 'delete-kvm2', ...delSets, '--yes', '-p', profile], { env, cwd: work });
  assert.equal(deleted.code, 0, deleted.stdout + deleted.stderr);
  assert.equal((await lv.virsh('domstate', profile)).ok, false);
  assert.equal((await lv.virsh('net-info', `ks-vm-${id}`)).ok, false);
  assert.equal((await lv.virsh('net-info', `ks-vmnat-${id}`)).ok, true, 'the NAT network stays');
  assert.equal(existsSync(dir), false);
});

function tailOf(path: string): string {
  try {
    return '\n--- console ---\n' + readFileSync(path, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '';
  }
}

// `doctor --driver kvm2` and `repair-kvm-network` against real networks of a private libvirtd that
// the test breaks on purpose: stopped with autostart off, a stale bridge holding the subnet, and a
// bridge in use that makes the start fail (the backup is restored). Subnets 192.168.236/238.0/24.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDocument } from '../../core/plan.ts';
import { runCli } from '../helpers/cli.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { LIBVIRT_INSTALL, startLibvirtd } from '../helpers/libvirtd.ts';
import { networkXml } from '../../tasks/libvirt/network.ts';

const skip = missing(['libvirtd', 'virtlogd', 'virsh', 'dnsmasq', 'unshare', 'ip'], LIBVIRT_INSTALL);

interface Note {
  level: string;
  message: string;
  fix?: string;
}

test('doctor --driver kvm2 finds what the test broke; repair-kvm-network fixes it, or restores the backup', { skip, timeout: 300_000 }, async (t) => {
  const id = randomBytes(3).toString('hex');
  const work = tempDir(t, 'ks-kvmrepair-');
  const lv = await startLibvirtd(t);
  const env = { KUBESTRAP_HOME: join(work, 'home'), LIBVIRT_DEFAULT_URI: lv.uri };
  const net = `ks-r-${id}`;
  const br = lv.bridge(`ksr${id}`);
  const xml = join(work, 'net.xml');
  writeFileSync(xml, networkXml({ name: net, prefix: '192.168.236', nat: false, bridge: br }));
  assert.ok((await lv.virsh('net-define', xml)).ok);
  assert.ok((await lv.virsh('net-start', net)).ok);
  const qemuConf = join(work, 'qemu.conf');
  writeFileSync(qemuConf, '# a user turned this off\ndynamic_ownership = 0\n');

  const doctor = async () => {
    const r = await runCli(['run', 'doctor', '--set', 'driver=kvm2', '--set', 'kvmBootTest=false', '--set', `qemuConf=${qemuConf}`, '--json', '--yes'], {
      env,
      cwd: work,
    });
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: string; note?: Note })
      .filter((e) => e.type === 'note' && e.step === 'libvirt').map((e) => e.note!);
  };
  const repair = (...extra: string[]) =>
    runCli(['run', 'repair-kvm-network', '--set', `network=${net}`, '--set', `kvmQemuUri=${lv.uri}`, ...extra, '--yes'], { env, cwd: work });
  const info = async () => (await lv.virsh('net-info', net)).stdout;

  // Healthy apart from qemu.conf: the bridge has the network's address.
  let notes = await doctor();
  assert.ok(notes.some((n) => n.message === `network '${net}': bridge ${br} has 192.168.236.1`), JSON.stringify(notes));
  assert.ok(notes.some((n) => n.message === `${qemuConf} sets dynamic_ownership = 0: qemu cannot open the VM's disk ("Permission denied")`));
  assert.ok(notes.some((n) => n.message === `libvirt has no 'default' network on ${lv.uri}`));

  // A firewall rule dropping DHCP on this network's bridge, ahead of libvirt's own rules.
  const rule = ['INPUT', '-i', br, '-p', 'udp', '-m', 'udp', '--dport', '67', '-j', 'DROP'];
  execFileSync('iptables', ['-I', ...rule]);
  try {
    notes = await doctor();
  } finally {
    execFileSync('iptables', ['-D', ...rule]);
  }
  assert.ok(
    notes.some((n) => n.message === `the firewall drops the VMs' DHCP requests before libvirt's rules: -A INPUT -i ${br} -p udp -m udp --dport 67 -j DROP`),
    JSON.stringify(notes),
  );

  // 1. Stopped, autostart off.
  await lv.virsh('net-destroy', net);
  notes = await doctor();
  assert.ok(
    notes.some((n) => n.message === `network '${net}' is not active` && n.fix?.endsWith(`kubestrap run repair-kvm-network --set network=${net}`)),
    JSON.stringify(notes),
  );
  assert.ok(notes.some((n) => n.message === `network '${net}' does not start with libvirt`));
  const plan = await runCli(['plan', 'repair-kvm-network', '--set', `network=${net}`, '--set', `kvmQemuUri=${lv.uri}`, '--format', 'json'], { env, cwd: work });
  assert.equal(plan.code, 0, plan.stderr);
  const steps = (JSON.parse(plan.stdout) as PlanDocument).steps[0]!.effects.filter((e) => e.kind === 'exec' || e.kind === 'write')
    .map((e) => (e.kind === 'write' ? `write ${e.path}` : (e as { command: string }).command.split(lv.uri).join('URI')));
  const dir = join(work, 'home', 'profiles', 'kubestrap', 'network-repair');
  assert.deepEqual(steps, [
    `write ${dir}/${net}.backup.xml`,
    `write ${dir}/${net}.xml`,
    `virsh -c 'URI' net-undefine ${net}`,
    `sh -c 'virsh -c "$1" net-define "$3" || { [ -z "$4" ] || virsh -c "$1" net-define "$4"; exit 1; }' repair 'URI' ${net} ${dir}/${net}.xml ${dir}/${net}.backup.xml`,
    `sh -c 'virsh -c "$1" net-start "$2" || { if [ -n "$4" ]; then virsh -c "$1" net-undefine "$2"; virsh -c "$1" net-define "$4" && virsh -c "$1" net-start "$2"; fi; exit 1; }' repair 'URI' ${net} ${dir}/${net}.xml ${dir}/${net}.backup.xml`,
    `virsh -c 'URI' net-autostart ${net}`,
  ]);
  let r = await repair();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(await info(), /^Active:\s+yes$/m);
  assert.match(await info(), /^Autostart:\s+yes$/m);
  assert.match(readFileSync(join(dir, `${net}.backup.xml`), 'utf8'), new RegExp(`<bridge name='${br}'`));

  // 2. A stale bridge left holding the subnet: libvirt cannot start the network until it is gone.
  await lv.virsh('net-destroy', net);
  execFileSync('ip', ['link', 'add', br, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', '192.168.236.1/24', 'dev', br]);
  assert.equal((await lv.virsh('net-start', net)).ok, false, 'libvirt refuses to start over the stale bridge');
  notes = await doctor();
  assert.ok(
    notes.some((n) =>
      n.message === `network '${net}' is not active, yet its bridge ${br} exists with 192.168.236.1: a stale bridge, libvirt cannot start the network over it`
    ),
    JSON.stringify(notes),
  );
  r = await repair();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`ip link delete ${br}`));
  assert.match(await info(), /^Active:\s+yes$/m);

  // 3. The stale bridge is in use (a port on it): repair leaves it alone, the start fails, the backup comes back.
  await lv.virsh('net-destroy', net);
  const port = lv.bridge(`ksd${id}`);
  execFileSync('ip', ['link', 'add', br, 'type', 'bridge']);
  execFileSync('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', lv.bridge(`${port}p`)]);
  execFileSync('ip', ['link', 'set', port, 'master', br]);
  execFileSync('ip', ['addr', 'add', '192.168.236.1/24', 'dev', br]);
  t.after(() => {
    for (const l of [port, br]) {
      try {
        execFileSync('ip', ['link', 'del', l], { stdio: 'ignore' });
      } catch { /* gone */ }
    }
  });
  r = await repair();
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`bridge ${br} holds the network's address but is in use \\(1 port\\)`));
  assert.match(r.stdout, /Failed to start network/);
  // The definition is the backup's: same bridge, same address.
  const after = (await lv.virsh('net-dumpxml', '--inactive', net)).stdout;
  assert.match(after, new RegExp(`<bridge name='${br}'`));
  assert.match(after, /<ip address='192\.168\.236\.1'/);
});

// create-libvirt-network against a private libvirtd (test/helpers/libvirtd.ts): the NAT network and
// the private network are defined, started and set to autostart with the first free subnet; a second
// run changes nothing; a stopped network is started again; the XML passes virt-xml-validate. Subnets
// stay in 192.168.230.0–192.168.249.0 and names are unique, so runs beside other suites cannot meet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDocument } from '../../core/plan.ts';
import { runCli } from '../helpers/cli.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { LIBVIRT_INSTALL, startLibvirtd } from '../helpers/libvirtd.ts';

const skip = missing(['libvirtd', 'virtlogd', 'virsh', 'virt-xml-validate', 'dnsmasq', 'unshare'], LIBVIRT_INSTALL);

const RECIPE = `name: nets
description: the kvm2 networks alone
params:
  uri: { default: "" }
  network: { default: "" }
  kvmNetwork: { default: default }
  bridge: { default: "" }
  kvmBridge: { default: "" }
steps:
  - id: net
    task: create-libvirt-network
    with:
      uri: \${{ params.uri }}
      network: \${{ params.network }}
      kvmNetwork: \${{ params.kvmNetwork }}
      bridge: \${{ params.bridge }}
      kvmBridge: \${{ params.kvmBridge }}
      subnetStart: 192.168.230.0
      kvmSubnetStart: 192.168.247.0
      home: \${{ env.KUBESTRAP_HOME }}
`;

test('create-libvirt-network: define, start, autostart, idempotent, repair a stopped network', { skip, timeout: 300_000 }, async (t) => {
  const id = randomBytes(3).toString('hex');
  const work = tempDir(t, 'ks-kvmnet-');
  const lv = await startLibvirtd(t);
  const env = { KUBESTRAP_HOME: join(work, 'home') };
  const file = join(work, 'nets.yaml');
  writeFileSync(file, RECIPE);
  const names = { network: `ks-t-${id}`, kvmNetwork: `ks-nat-${id}`, bridge: lv.bridge(`ksb${id}`), kvmBridge: lv.bridge(`ksn${id}`) };
  lv.bridge(`ksb${id}b`);
  const sets = ['--set', `uri=${lv.uri}`, ...Object.entries(names).flatMap(([k, v]) => ['--set', `${k}=${v}`])];

  const plan = await runCli(['plan', file, ...sets, '--format', 'json', '-p', `p${id}`], { env, cwd: work });
  assert.equal(plan.code, 0, plan.stderr);
  const doc = JSON.parse(plan.stdout) as PlanDocument;
  const dir = join(work, 'home', 'profiles', `p${id}`, 'machine');
  if (process.env.DEBUG_KVM) console.log(JSON.stringify(doc.steps[0], null, 1));
  const cmds = doc.steps[0]!.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command);
  const q = (s: string) => `'${s}'`;
  assert.deepEqual(cmds, [
    `virsh -c ${q(lv.uri)} net-define ${dir}/network-${names.kvmNetwork}.xml`,
    `virsh -c ${q(lv.uri)} net-start ${names.kvmNetwork}`,
    `virsh -c ${q(lv.uri)} net-autostart ${names.kvmNetwork}`,
    `virsh -c ${q(lv.uri)} net-define ${dir}/network-${names.network}.xml`,
    `virsh -c ${q(lv.uri)} net-start ${names.network}`,
    `virsh -c ${q(lv.uri)} net-autostart ${names.network}`,
  ]);

  const run = await runCli(['run', file, ...sets, '--yes', '-p', `p${id}`], { env, cwd: work });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  for (const n of [names.network, names.kvmNetwork]) {
    const info = (await lv.virsh('net-info', n)).stdout;
    assert.match(info, /^Active:\s+yes$/m);
    assert.match(info, /^Autostart:\s+yes$/m);
    const xmlFile = join(dir, `network-${n}.xml`);
    execFileSync('virt-xml-validate', [xmlFile, 'network']);
  }
  const priv = (await lv.virsh('net-dumpxml', names.network)).stdout;
  assert.match(priv, new RegExp(`<bridge name='${names.bridge}'`));
  assert.match(priv, /<ip address='192\.168\.230\.1' netmask='255\.255\.255\.0'>/);
  assert.match(priv, /<range start='192\.168\.230\.2' end='192\.168\.230\.253'\/>/);
  assert.match(priv, /<dns enable='no'\/>/);
  assert.doesNotMatch(priv, /<forward/);
  const nat = (await lv.virsh('net-dumpxml', names.kvmNetwork)).stdout;
  assert.match(nat, /<forward mode='nat'>/);
  assert.match(nat, /<ip address='192\.168\.247\.1'/);
  assert.match(execFileSync('ip', ['-4', '-o', 'addr', 'show', names.bridge], { encoding: 'utf8' }), /inet 192\.168\.230\.1\/24/);
  const state = JSON.parse(readFileSync(join(work, 'home', 'profiles', `p${id}`, 'state.json'), 'utf8'));
  assert.deepEqual(state.steps[0].outputs, {
    network: names.network,
    kvmNetwork: names.kvmNetwork,
    subnet: '192.168.230.0/24',
    gateway: '192.168.230.1',
    bridge: names.bridge,
    kvmBridge: names.kvmBridge,
  });

  // Done: the second plan changes nothing.
  const again = await runCli(['plan', file, ...sets, '--format', 'json', '-p', `p${id}`], { env, cwd: work });
  assert.equal((JSON.parse(again.stdout) as PlanDocument).steps[0]!.status, 'ok');

  // A stopped network with autostart off is started and set to autostart again, nothing else.
  await lv.virsh('net-destroy', names.network);
  await lv.virsh('net-autostart', names.network, '--disable');
  const fix = await runCli(['plan', file, ...sets, '--format', 'json', '-p', `p${id}`], { env, cwd: work });
  assert.deepEqual((JSON.parse(fix.stdout) as PlanDocument).steps[0]!.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command), [
    `virsh -c ${q(lv.uri)} net-start ${names.network}`,
    `virsh -c ${q(lv.uri)} net-autostart ${names.network}`,
  ]);
  assert.equal((await runCli(['run', file, ...sets, '--yes', '-p', `p${id}`], { env, cwd: work })).code, 0);
  assert.match((await lv.virsh('net-info', names.network)).stdout, /^Active:\s+yes$/m);

  // A second profile's network skips the subnet already in use.
  const other = await runCli([
    'run',
    file,
    ...sets.map((s) => s.replace(names.network, `${names.network}b`).replace(names.bridge, `${names.bridge}b`)),
    '--yes',
    '-p',
    `q${id}`,
  ], { env, cwd: work });
  assert.equal(other.code, 0, other.stdout + other.stderr);
  assert.match((await lv.virsh('net-dumpxml', `${names.network}b`)).stdout, /<ip address='192\.168\.241\.1'/);
  assert.ok(existsSync(`/sys/class/net/${names.bridge}b`));

  // The errors users meet: a VM whose networks are missing, and a session URI.
  const vmFile = join(work, 'vm.yaml');
  writeFileSync(
    vmFile,
    `name: vm-only\ndescription: provision-vm alone\nsteps:\n  - id: vm\n    task: provision-vm\n    with: { uri: "${lv.uri}", network: "ks-none-${id}", kvmNetwork: "ks-gone-${id}", home: "\${{ env.KUBESTRAP_HOME }}" }\n`,
  );
  const missingNet = await runCli(['run', vmFile, '--yes', '-p', `r${id}`], { env, cwd: work });
  assert.equal(missingNet.code, 2);
  assert.match(
    missingNet.stdout + missingNet.stderr,
    new RegExp(
      `libvirt network 'ks-none-${id}' \\(--network\\) does not exist \\(kubestrap run repair-kvm-network --set network=ks-none-${id} defines it \\(for default: from libvirt's template\\), or pass another --network\\) \\[PR_KVM_MISSING_NETWORK\\]`,
    ),
  );
  const session = await runCli(['plan', file, '--set', 'uri=qemu:///session', '-p', `s${id}`], { env, cwd: work });
  assert.equal(session.code, 2);
  assert.match(
    session.stdout + session.stderr,
    /libvirt qemu:\/\/\/session \(a user session\) cannot create the bridges and DHCP the kvm2 driver needs \(use --kvm-qemu-uri qemu:\/\/\/system and add your user to the libvirt group/,
  );
});

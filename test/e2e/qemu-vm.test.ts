// The qemu driver's machine for real: qemu-system under TCG, no libvirt, the guest image this suite
// builds (test/helpers/guest-image.ts) downloaded from a loopback server, SSH through the host
// forward on 127.0.0.1 with the generated key; then delete stops qemu by its pid file and removes
// every file it listed. One guest at a time, at low priority.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDocument } from '../../core/plan.ts';
import { readState } from '../../core/profile.ts';
import { runCli } from '../helpers/cli.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { GUEST_INSTALL, guestImage } from '../helpers/guest-image.ts';
import { startHttpServer } from '../helpers/http-server.ts';

const skip = missing(
  ['qemu-system-x86_64', 'mmdebstrap', 'qemu-img', 'genisoimage', 'ssh', 'ssh-keygen'],
  `apt-get install qemu-system-x86 genisoimage openssh-client; ${GUEST_INSTALL}`,
);

test('provision-qemu-vm: qemu-system boots the guest image; SSH through the host forward; delete stops it', { skip, timeout: 900_000 }, async (t) => {
  const work = tempDir(t, 'ks-qemuvm-');
  const image = await guestImage();
  const http = await startHttpServer(t);
  http.serve('/guest.qcow2', { file: image.disk });
  const env = { KUBESTRAP_HOME: join(work, 'home') };
  const profile = 'qemu-e2e';
  const dir = join(work, 'home', 'profiles', profile, 'machine');
  // The VM must not outlive a failed test.
  t.after(() => {
    try {
      execFileSync('kill', ['-9', readFileSync(join(dir, 'qemu.pid'), 'utf8').trim()], { stdio: 'ignore' });
    } catch { /* not running */ }
  });
  const sets = [
    '--set',
    `imageUrl=${http.url('/guest.qcow2')}`,
    '--set',
    `imageSha256=${image.sha256}`,
    '--set',
    `kernel=${image.kernel}`,
    '--set',
    `initrd=${image.initrd}`,
    '--set',
    `cmdline=${image.cmdline}`,
    '--set',
    'memory=768',
    '--set',
    'cpus=1',
    '--set',
    'diskSize=4g',
    '--only',
    'vm',
  ];

  const plan = await runCli(['plan', 'driver-qemu', ...sets, '--format', 'json', '-p', profile], { env, cwd: work });
  assert.equal(plan.code, 0, plan.stderr);
  const vm = (JSON.parse(plan.stdout) as PlanDocument).steps.find((s) => s.id === 'vm')!;
  const qemu = vm.effects.find((e) => e.kind === 'exec' && e.command.startsWith('qemu-system-x86_64 ')) as { command: string };
  assert.match(qemu.command, /^qemu-system-x86_64 -name qemu-e2e -accel tcg -m 768 -smp 1 -nodefaults -display none -daemonize -pidfile \S+\/qemu\.pid /);
  assert.match(qemu.command, /-netdev user,id=net0,hostfwd=tcp:127\.0\.0\.1:(\d+)-:22,hostfwd=tcp:127\.0\.0\.1:(\d+)-:8443 /);
  const listens = vm.effects.filter((e) => e.kind === 'listen') as { port: number; address: string }[];
  assert.deepEqual(listens.map((l) => l.address), ['127.0.0.1', '127.0.0.1']);

  const run = await runCli(['run', 'driver-qemu', ...sets, '--yes', '--json', '-p', profile], { env, cwd: work });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  // The download's progress reaches the user as the step's output events, up to 100 %.
  const progress = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: string; line?: string })
    .filter((e) => e.type === 'output' && e.step === 'vm' && e.line?.startsWith('guest.qcow2: ')).map((e) => e.line!);
  assert.ok(progress.length >= 5, progress.join(' | '));
  assert.match(progress.at(-1)!, /^guest\.qcow2: [\d.]+ MiB of [\d.]+ MiB \(100%\)$/);
  const out = readState(env.KUBESTRAP_HOME, profile)!.steps.find((s) => s.id === 'vm')!.outputs as Record<string, unknown>;
  assert.equal(out.address, '127.0.0.1');
  const got = execFileSync('ssh', [
    '-i',
    String(out.sshKey),
    '-p',
    String(out.sshPort),
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    'docker@127.0.0.1',
    'hostname',
  ], { encoding: 'utf8' });
  assert.equal(got, `${profile}\n`);
  const again = await runCli(['plan', 'driver-qemu', ...sets, '--format', 'json', '-p', profile], { env, cwd: work });
  assert.equal((JSON.parse(again.stdout) as PlanDocument).steps.find((s) => s.id === 'vm')!.status, 'ok');

  const pid = Number(readFileSync(join(dir, 'qemu.pid'), 'utf8'));
  const del = await runCli(['run', 'delete-qemu', '--yes', '-p', profile], { env, cwd: work });
  assert.equal(del.code, 0, del.stdout + del.stderr);
  assert.equal(existsSync(`/proc/${pid}`), false, 'qemu is stopped');
  assert.equal(existsSync(dir), false);
});

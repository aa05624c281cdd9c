// `kubestrap doctor` for real on this machine: every finding is compared with what the test itself
// measures here (its own qemu runs, its own libvirtd, its own dockerd asked over its API), so the
// suite also holds on a machine where KVM works or a daemon runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { drivers } from '../../drivers/index.ts';
import { runCli } from '../helpers/cli.ts';
import { api, DOCKER_INSTALL, startDockerd } from '../helpers/dockerd.ts';
import { hasBinary, isRoot, missing, repoRoot, tempDir } from '../helpers/env.ts';
import { isDeno } from '../../core/runtime.ts';

interface Note {
  level: string;
  message: string;
  fix?: string;
}

/** Runs the CLI with --json and its own KUBESTRAP_HOME; returns the exit code, notes and the step outputs. */
async function doctor(t: { after(fn: () => void): void }, argv: string[], env: Record<string, string> = {}, signal?: AbortSignal, home = tempDir(t)) {
  const r = await runCli([...argv, '--json'], { env: { KUBESTRAP_HOME: home, ...env }, ...(signal ? { signal } : {}) });
  const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; note?: Note; error?: string; status?: string });
  const notes = events.filter((e) => e.type === 'note').map((e) => e.note!);
  const state = join(home, 'profiles', 'kubestrap', 'state.json');
  const outputs = existsSync(state)
    ? (JSON.parse(readFileSync(state, 'utf8')) as { steps: { outputs?: Record<string, unknown> }[] }).steps[0]?.outputs
    : undefined;
  return { ...r, events, notes, outputs };
}

const find = (notes: Note[], re: RegExp): Note | undefined => notes.find((n) => re.test(n.message));

const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Seconds of CPU (user + system) a process has used, from /proc/PID/stat; null once it is gone. */
function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / HZ;
  } catch {
    return null;
  }
}

/**
 * CPU seconds qemu used until its firmware printed "No bootable device." on its debug port, or why
 * not: 'slow' once it used more than capSeconds of CPU without getting there.
 */
function firmwareCpu(t: { after(fn: () => void): void }, accel: 'kvm' | 'tcg', capSeconds: number): Promise<number | 'exited' | 'slow' | 'timeout'> {
  const child = spawn('qemu-system-x86_64', [
    '-accel',
    accel,
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-m',
    '16',
    '-chardev',
    'stdio,id=fw,signal=off',
    '-device',
    'isa-debugcon,iobase=0x402,chardev=fw',
  ], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => {
    child.kill('SIGKILL');
  });
  return new Promise((resolve) => {
    let seen = '';
    const done = (v: number | 'exited' | 'slow' | 'timeout') => {
      clearInterval(watch);
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(v);
    };
    const watch = setInterval(() => {
      if ((cpuSeconds(child.pid!) ?? 0) > capSeconds) done('slow');
    }, 20);
    const timer = setTimeout(() => done('timeout'), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      seen = (seen + d.toString('latin1')).slice(-200);
      if (seen.includes('No bootable device')) done(cpuSeconds(child.pid!) ?? 'exited');
    });
    child.on('exit', () => done('exited'));
  });
}

/**
 * Whether KVM runs a guest here, measured by the test itself: the CPU time qemu's firmware needs
 * under KVM against the same firmware under TCG emulation. A KVM that needs more than 3 × the
 * emulation's CPU + 0.6 s is useless (the rule doctor documents). CPU time, as doctor measures,
 * because it does not stretch with the load of a busy machine the way wall time does. Why this
 * matters on the machines this was written on (kvm_pvm, no vmx/svm): /dev/kvm exists, yet the
 * firmware needs 3–4 s of CPU under KVM against 0.1 s under TCG, and a Linux kernel under -accel kvm
 * prints nothing for tens of seconds, then stops with "KVM internal error … emulation failure", so
 * doctor must call KVM unusable there. Near the line the answer is undefined and the test says so.
 */
async function kvmUsable(t: { after(fn: () => void): void; diagnostic(s: string): void }): Promise<boolean | undefined> {
  const tcg = await firmwareCpu(t, 'tcg', 15);
  assert.equal(typeof tcg, 'number', `qemu's firmware must finish under TCG (got ${tcg})`);
  const limit = 3 * (tcg as number) + 0.6;
  // Past 1.5 × the limit the verdict is clear; going on only costs time.
  const kvm = await firmwareCpu(t, 'kvm', 1.5 * limit);
  t.diagnostic(`firmware CPU: TCG ${tcg} s, KVM ${typeof kvm === 'number' ? `${kvm} s` : kvm}, limit ${limit.toFixed(2)} s`);
  if (kvm === 'slow') return false;
  if (typeof kvm !== 'number') return kvm === 'exited' ? false : undefined;
  if (kvm < limit / 1.5) return true;
  return undefined;
}

/** Processes whose command line mentions a path, e.g. a temp dir a probe worked in. */
function processesMentioning(path: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(path)) found.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch { /* gone meanwhile */ }
  }
  return found;
}

const qemuSkip = missing(['qemu-system-x86_64'], 'apt-get install qemu-system-x86');

test('doctor reports KVM as usable or unusable exactly as qemu -accel kvm behaves here', { skip: qemuSkip }, async (t) => {
  const hasKvm = existsSync('/dev/kvm');
  const expected = hasKvm ? await kvmUsable(t) : false;
  const r = await doctor(t, ['doctor']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.ok(r.notes.length >= 4, 'the findings arrive as note events');
  assert.ok(r.notes.every((n) => ['info', 'warn', 'error'].includes(n.level) && n.message), 'every note has a level and a message');
  assert.equal(r.events.at(-1)?.type, 'run-finish');
  assert.equal(r.events.at(-1)?.status, 'ok');
  if (!hasKvm) {
    assert.ok(find(r.notes, /^KVM is unavailable: \/dev\/kvm does not exist/));
    assert.equal(r.outputs?.kvm, 'missing');
    return;
  }
  if (!isRoot && r.outputs?.kvm === 'no-access') return; // the boot test needs /dev/kvm access
  const usable = find(r.notes, /^KVM is usable/);
  const unusable = find(r.notes, /^KVM is unusable here/);
  assert.ok(usable || unusable, `a KVM verdict among: ${r.notes.map((n) => n.message).join(' | ')}`);
  if (expected === undefined) {
    t.diagnostic('KVM timing is too close to the limit to predict the verdict');
    return;
  }
  if (expected) {
    assert.ok(usable && !unusable);
    assert.equal(r.outputs?.kvm, 'usable');
  } else {
    assert.ok(unusable && !usable, 'KVM is slower than emulation here, so doctor must not call it fine');
    assert.equal(unusable!.level, 'error');
    assert.match(unusable!.fix ?? '', /--driver qemu/);
    assert.equal(r.outputs?.kvm, 'unusable');
  }
  // The TCG reference ran, so the qemu driver is reported as working, and the timings are outputs.
  assert.ok(find(r.notes, /qemu runs guests under TCG emulation/));
  const timing = r.outputs?.kvmTiming as Record<string, number | null>;
  assert.ok(typeof timing?.tcgCpuSeconds === 'number' && typeof timing.kvmLimitCpuSeconds === 'number');
  // doctor's verdict follows from the CPU times it reports (an exited qemu reports none).
  if (r.outputs?.kvm === 'usable') assert.ok(timing.kvmCpuSeconds! <= timing.kvmLimitCpuSeconds!);
  else if (timing.kvmCpuSeconds !== null) assert.ok(timing.kvmCpuSeconds! > timing.kvmLimitCpuSeconds!);
});

test('doctor --driver fails for a driver that cannot run and passes for one that can', { skip: qemuSkip }, async (t) => {
  const dir = tempDir(t);
  // No libvirtd listens on this socket, so kvm2 cannot run whatever KVM does.
  const dead = `qemu:///system?socket=${dir}/nothing-here.sock`;
  const kvm2 = await doctor(t, ['doctor', '--driver', 'kvm'], { LIBVIRT_DEFAULT_URI: dead });
  assert.equal(kvm2.code, 1);
  const failed = kvm2.events.find((e) => e.type === 'step-failed');
  assert.match(failed?.error ?? '', /^the kvm2 driver cannot run here: /);
  assert.ok(find(kvm2.notes, /^libvirtd does not answer/), 'the findings come before the verdict');
  // Before the findings: every registered driver's own status check, bounded by its timeout.
  const reported = kvm2.events.find((e) => e.type === 'drivers') as unknown as { drivers: { name: string; installed: boolean; healthy: boolean }[] };
  assert.deepEqual(reported.drivers.map((d) => d.name).sort(), drivers.map((d) => d.name).sort());
  assert.deepEqual(reported.drivers.find((d) => d.name === 'ssh'), { name: 'ssh', installed: true, healthy: true });
  // The none driver needs nothing virtual: it can run anywhere doctor runs.
  const none = await doctor(t, ['run', 'doctor', '--set', 'driver=none', '--set', 'kvmBootTest=false']);
  assert.equal(none.code, 0, none.stderr);
  assert.ok(find(none.notes, /^the none driver can run here$/));
  const bad = await runCli(['doctor', '--driver', 'vmware'], { env: { KUBESTRAP_HOME: dir } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /must be one of .*kvm2/);
});

test('plan doctor lists its probes as read-only, each with a timeout, and nothing that changes the machine', async (t) => {
  const r = await runCli(['plan', 'doctor', '--format', 'json'], { env: { KUBESTRAP_HOME: tempDir(t) } });
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as {
    steps: { status: string; effects: { kind: string; readOnly?: boolean; command?: string }[] }[];
    summary: Record<string, number>;
  };
  const effects = plan.steps.flatMap((s) => s.effects);
  assert.ok(effects.length > 0);
  for (const e of effects) {
    assert.ok(e.kind === 'probe' || e.kind === 'read', `only reads, got ${e.kind}`);
    assert.equal(e.readOnly, true);
  }
  const probes = effects.filter((e) => e.kind === 'probe').map((e) => e.command!);
  for (const c of probes) assert.ok(/^timeout \d+ /.test(c) || c.includes('timeout -s KILL'), `no timeout in: ${c.slice(0, 80)}`);
  if (hasBinary('virsh')) assert.ok(probes.some((c) => c.startsWith('timeout 10 virsh -c qemu:///system uri')));
  if (hasBinary('docker')) assert.ok(probes.some((c) => c.includes('docker version')));
  if (hasBinary('qemu-system-x86_64') && existsSync('/dev/kvm') && isRoot) assert.ok(probes.some((c) => c.includes('-accel "$1"')));
  // check-virt, the container engines, and the kvm2 checks (which only look with --driver kvm2).
  assert.deepEqual(plan.steps.map((s) => s.status), ['ok', 'ok', 'ok', 'ok']);
  for (const k of ['commands', 'sudoCommands', 'filesWritten', 'filesOverwritten', 'filesRemoved', 'ports', 'packages', 'services', 'downloads']) {
    assert.equal(plan.summary[k], 0, k);
  }
});

for (const accel of ['tcg', 'kvm'] as const) {
  test(`interrupting doctor while its ${accel} qemu runs leaves no qemu and no temp files`, {
    skip: qemuSkip ?? (existsSync('/dev/kvm') && isRoot ? undefined : 'needs /dev/kvm and root'),
  }, async (t) => {
    // The probe makes its temp dir under $TMPDIR, so a private TMPDIR shows what it leaves behind.
    const home = tempDir(t);
    const tmp = tempDir(t);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    t.after(() => {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    });
    const controller = new AbortController();
    const running = (p: string) => p.includes('qemu-system') && p.includes(`-accel ${accel}`);
    const watch = setInterval(() => {
      if (processesMentioning(tmp).some(running)) controller.abort();
    }, 20);
    t.after(() => clearInterval(watch));
    const r = await doctor(t, ['doctor'], {}, controller.signal, home);
    clearInterval(watch);
    if (!controller.signal.aborted && accel === 'kvm') {
      // Where KVM works its firmware run can end between two looks: nothing was interrupted.
      t.diagnostic('the KVM run ended before the test saw it');
      return;
    }
    assert.ok(controller.signal.aborted, `qemu -accel ${accel} was seen running before the abort`);
    assert.equal(r.code, 130);
    // The probe's traps stop qemu and remove the temp dir; give them up to 10 s on a loaded machine.
    let left: string[] = [];
    for (let i = 0; i < 200; i++) {
      left = processesMentioning(tmp);
      if (!left.length && readdirSync(tmp).length === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.deepEqual(left, []);
    assert.deepEqual(readdirSync(tmp), []);
  });
}

const nobodySkip = !isRoot
  ? 'needs root to run doctor as another user'
  : missing(['runuser'], 'apt-get install util-linux') ?? (spawnSync('id', ['nobody']).status === 0 ? undefined : 'no user nobody');

test('doctor run by a user without rights names the groups that user lacks', { skip: nobodySkip }, async (t) => {
  const home = tempDir(t);
  chmodSync(home, 0o777);
  // doctor asks podman as that user, and rootless podman leaves a pause process behind that outlives
  // the command: stop the ones this test started, so the machine is left as found.
  const nobodyPids = () => new Set(spawnSync('pgrep', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean));
  const before = nobodyPids();
  t.after(() => {
    for (const pid of nobodyPids()) {
      if (!before.has(pid)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch { /* already gone */ }
      }
    }
  });
  const as = (cmd: string[]) => spawnSync('runuser', ['-u', 'nobody', '--', ...cmd], { encoding: 'utf8' });
  // What that user may really do, asked of the system, not of kubestrap.
  const kvmOpen = existsSync('/dev/kvm') && as(['sh', '-c', '[ -r /dev/kvm ] && [ -w /dev/kvm ]']).status === 0;
  const inLibvirt = spawnSync('id', ['-nG', 'nobody'], { encoding: 'utf8' }).stdout.split(/\s+/).includes('libvirt');
  // The same runtime as this test: Deno runs cli.ts itself, Node through tsx.
  const cli = join(repoRoot, 'cli.ts');
  const runtime = isDeno ? [process.execPath, 'run', '-A', cli] : [process.execPath, '--import', 'tsx', cli];
  const r = spawnSync('runuser', [
    '-u',
    'nobody',
    '--',
    'env',
    `HOME=${home}`,
    `KUBESTRAP_HOME=${home}`,
    'NO_COLOR=1',
    ...runtime,
    'run',
    'doctor',
    '--set',
    'kvmBootTest=false',
    '--json',
  ], { encoding: 'utf8', cwd: repoRoot, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const notes = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; note?: Note })
    .filter((e) => e.type === 'note').map((e) => e.note!);
  const kvmNote = find(notes, /^\/dev\/kvm exists but nobody cannot open it$/);
  if (existsSync('/dev/kvm') && !kvmOpen) assert.match(kvmNote?.fix ?? '', /usermod -aG kvm nobody/);
  else assert.equal(kvmNote, undefined);
  if (hasBinary('virsh')) {
    const groupNote = find(notes, /^nobody is not in the libvirt group$/);
    if (inLibvirt) assert.equal(groupNote, undefined);
    else assert.match(groupNote?.fix ?? '', /usermod -aG libvirt nobody/);
  }
});

/** libvirtd in its own mount and network namespace, with /run and its state dirs on temp dirs. */
async function startLibvirtd(t: { after(fn: () => void): void }): Promise<{ uri: string; stop(): Promise<void> }> {
  const dir = tempDir(t, 'kubestrap-libvirtd-');
  for (const d of ['run', 'cache', 'lib']) mkdirSync(join(dir, d));
  // Binding temp dirs over /run and libvirt's state keeps it off any libvirtd the machine runs; the
  // socket lands in DIR/run, which this process reaches through the temp path.
  const script = 'mount --bind "$1/run" /run && mount --bind "$1/cache" /var/cache/libvirt && mount --bind "$1/lib" /var/lib/libvirt && exec libvirtd';
  const child: ChildProcess = spawn('unshare', ['-m', '-n', '--propagation', 'private', 'sh', '-c', script, 'sh', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM'); // unshare and sh exec'd into libvirtd: this PID is libvirtd
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  t.after(stop);
  const socket = join(dir, 'run', 'libvirt', 'libvirt-sock');
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (child.exitCode !== null) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.ok(existsSync(socket), `libvirtd did not create its socket:\n${log}`);
  return { uri: `qemu:///system?socket=${socket}`, stop };
}

const libvirtSkip = missing(['libvirtd', 'virsh', 'unshare'], 'apt-get install libvirt-daemon-system libvirt-clients') ??
  (isRoot ? undefined : 'needs root for a private mount namespace');

test('doctor says libvirtd answers while the test runs one, and does not once it is stopped', { skip: libvirtSkip }, async (t) => {
  const libvirtd = await startLibvirtd(t);
  const env = { LIBVIRT_DEFAULT_URI: libvirtd.uri };
  // The KVM race is not what this test is about; skipping it keeps the test short.
  const up = await doctor(t, ['run', 'doctor', '--set', 'kvmBootTest=false'], env);
  assert.equal(up.code, 0, up.stderr);
  const answers = find(up.notes, /^libvirtd answers on /);
  assert.ok(answers, up.notes.map((n) => n.message).join(' | '));
  assert.ok(answers.message.includes(libvirtd.uri));
  assert.equal(up.outputs?.libvirt, true);
  await libvirtd.stop();
  const down = await doctor(t, ['run', 'doctor', '--set', 'kvmBootTest=false'], env);
  assert.equal(down.code, 0);
  const silent = find(down.notes, /^libvirtd does not answer on /);
  assert.ok(silent, down.notes.map((n) => n.message).join(' | '));
  assert.match(silent.fix ?? '', /libvirtd/);
  assert.equal(down.outputs?.libvirt, false);
});

const dockerSkip = missing(['dockerd', 'docker'], DOCKER_INSTALL);

test('doctor says a Docker daemon answers on the socket of one the test runs, and not on a dead socket', { skip: dockerSkip }, async (t) => {
  const socket = await startDockerd(t);
  // What the daemon says of itself, asked over its API without the docker CLI.
  const version = (JSON.parse((await api(socket, 'GET', '/version')).body) as { Version: string }).Version;
  const up = await doctor(t, ['run', 'doctor', '--set', 'kvmBootTest=false'], { DOCKER_HOST: `unix://${socket}` });
  assert.equal(up.code, 0, up.stderr);
  const answers = find(up.notes, /^Docker Engine /);
  assert.equal(answers?.message, `Docker Engine ${version} answers on unix://${socket}`, up.notes.map((n) => n.message).join(' | '));
  assert.equal(up.outputs?.docker, true);

  // A socket nobody listens on: the finding must say so and name the fix.
  const dead = `unix://${tempDir(t)}/docker.sock`;
  const down = await doctor(t, ['run', 'doctor', '--set', 'kvmBootTest=false'], { DOCKER_HOST: dead });
  assert.equal(down.code, 0);
  const note = find(down.notes, /^no Docker daemon answers on /);
  assert.ok(note?.message.includes(dead), down.notes.map((n) => n.message).join(' | '));
  assert.match(note?.fix ?? '', /dockerd/);
  assert.equal(down.outputs?.docker, false);
});

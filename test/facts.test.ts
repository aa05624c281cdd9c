// Facts gathered once per host: the one script answers every fact exactly as the probe on its own
// would (here, over real sshd and in a real container), a plan starts only the processes it must,
// and a run asks again after it changed the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { downloadCachePath, sha256 } from '../core/context.ts';
import Docker from 'dockerode';
import * as engine from '../core/engine.ts';
import {
  commandFact,
  commandPresent,
  dirListing,
  type FactProbe,
  fileDigest,
  fileFact,
  gatherScript,
  packageStates,
  shellFact,
  statFact,
  unitActive,
  unitEnabled,
} from '../core/facts.ts';
import type { ExecOptions, ExecResult, Host } from '../core/hosts/host.ts';
import { LocalHost } from '../core/hosts/local.ts';
import { defineTask } from '../core/task.ts';
import { builtinTasks } from '../tasks/index.ts';
import { ADDRESS_FACTS, ARCH, CPUS, PORT_FACTS } from '../tasks/k8s/node-facts.ts';
import { DOCKER_INSTALL, startDockerd } from './helpers/dockerd.ts';
import { isRoot, missing, tempDir } from './helpers/env.ts';
import { debianWorkstation, FixedHost } from './helpers/fixed-host.ts';
import { planOptions } from './helpers/plan-options.ts';
import { MMDEBSTRAP_INSTALL, nodeImage } from './helpers/node-image.ts';
import { createTestUser, startSshd } from './helpers/sshd.ts';

/** Facts of every kind, some true and some false on any machine. */
const SAMPLE: FactProbe[] = [
  commandPresent('sh'),
  commandPresent('kubestrap-no-such-tool'),
  ARCH,
  CPUS,
  ...ADDRESS_FACTS,
  ...PORT_FACTS,
  packageStates(['dpkg', 'kubestrap-no-such-package']),
  packageStates(['dpkg']),
  unitActive('ssh'),
  unitEnabled('kubestrap-no-such-unit'),
  unitEnabled('ssh'),
  unitEnabled('getty@tty1'),
  unitEnabled('kubestrap-no-such@x.service'),
  unitEnabled('systemd-journald.socket'),
  fileDigest('/etc/hostname'),
  fileDigest('/etc/kubestrap-no-such-file'),
  fileDigest('/etc'),
  dirListing('/etc/apt'),
  dirListing('/etc/kubestrap-no-such-dir'),
  shellFact('printf "%s|" "$@"; exit 7', "it's", 'two words'),
  commandFact`printf ${'no newline'}`,
];

/** Files that exist, do not, are a directory, and (for a user) cannot be read. */
const FILES = ['/etc/os-release', '/etc/kubestrap-no-such-file', '/etc', '/etc/shadow', "/tmp/it's not here"];

/** Paths asked for their stat only: a file, a missing one, a directory, one under a directory a user may not enter. */
const STATS = ['/etc/hostname', '/etc/kubestrap-no-such-stat', '/etc/apt', '/root/.kubestrap-no-such-file', "/tmp/it's not here either"];

/** Gathers SAMPLE and FILES on a host in one command and compares each answer with the probe, stat or read on its own. */
async function gatheredEqualsSingle(host: Host): Promise<void> {
  const g = gatherScript([...SAMPLE, ...FILES.map(fileFact), ...STATS.map(statFact)]);
  const found = g.answers(await host.exec(g.script));
  for (const path of STATS) assert.deepEqual(found.stats.get(path), await host.stat(path), path);
  for (const path of FILES) {
    const f = found.files.get(path);
    assert.ok(f, `no gathered answer for ${path}`);
    assert.deepEqual(f.info, await host.stat(path), path);
    const alone = await host.readFile(path).catch((e: Error) => (e.name === 'UnreadableError' ? 'unreadable' : Promise.reject(e)));
    assert.deepEqual(
      f.content === undefined ? undefined : f.content instanceof Uint8Array ? Buffer.from(f.content) : f.content,
      alone instanceof Uint8Array ? Buffer.from(alone) : alone,
      path,
    );
  }
  for (const f of SAMPLE) {
    const alone = await host.exec(f.command);
    const gathered = found.byCommand.get(f.command);
    assert.ok(gathered, `no gathered answer for ${f.command}`);
    assert.deepEqual({ stdout: gathered.stdout, ok: gathered.exitCode === 0 }, { stdout: alone.stdout, ok: alone.exitCode === 0 }, f.command);
    if (f.via.kind === 'shell') assert.equal(gathered.exitCode, alone.exitCode, f.command);
  }
}

/** A real local host that counts the commands it is asked to run (each one a process). */
class CountingHost extends LocalHost {
  readonly commands: string[] = [];
  override exec(command: string, opts?: ExecOptions): Promise<ExecResult> {
    this.commands.push(command);
    return super.exec(command, opts);
  }
}

/** Stand-ins for the checksum files a start plan reads, so planning needs no network. */
function seedChecksums(home: string): void {
  const urls = [
    ...['kubelet', 'kubeadm', 'kubectl'].map((b) => `https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/${b}.sha256`),
    'https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.31.0/crictl-v1.31.0-linux-amd64.tar.gz.sha256',
  ];
  for (const url of urls) {
    const path = downloadCachePath(join(home, 'cache', 'downloads'), url);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, sha256(url) + '\n');
  }
}

function engineOptions(t: { after(fn: () => void): void }, local: Host, tasks = builtinTasks) {
  const home = tempDir(t);
  seedChecksums(home);
  return planOptions(home, local, { env: { KUBESTRAP_HOME: home, PATH: process.env.PATH }, builtinTasks: tasks });
}

test('the gathering script answers each fact as the probe on its own does (local host)', async () => {
  const local = new LocalHost();
  const g = gatherScript(SAMPLE);
  const found = g.answers(await local.exec(g.script));
  for (const f of SAMPLE) {
    const alone = await local.exec(f.command);
    assert.equal(found.byCommand.get(f.command)?.stdout, alone.stdout, f.command);
    assert.equal(found.byCommand.get(f.command)?.exitCode === 0, alone.exitCode === 0, f.command);
  }
});

test('units systemd has no file for are answered by the shell; one systemctl asks for the rest', async () => {
  const local = new LocalHost();
  const units = ['kubestrap-no-such-unit', 'ssh', 'getty@tty1', 'kubestrap-no-such@x'];
  const g = gatherScript(units.map(unitEnabled));
  const r = await local.exec(g.script);
  const found = g.answers(r);
  for (const u of units) {
    const alone = await local.exec(`systemctl is-enabled --quiet ${u}`);
    assert.equal(found.byCommand.get(`systemctl is-enabled --quiet ${u}`)?.exitCode === 0, alone.exitCode === 0, u);
  }
  assert.match(r.stdout, /^kubestrap-no-such-unit not-found$/m);
  assert.match(r.stdout, /^kubestrap-no-such@x not-found$/m);
  // Where the unit directories are not the usual ones, systemctl is asked for every unit; it stops at
  // a missing one, which is then left to its own probe, and goes on with the rest.
  const moved = await local.exec(`SYSTEMD_UNIT_PATH=/nonexistent:; export SYSTEMD_UNIT_PATH\n${g.script}`);
  const answers = g.answers(moved);
  assert.equal(answers.byCommand.get('systemctl is-enabled --quiet kubestrap-no-such-unit'), undefined);
  assert.match(moved.stdout, /^kubestrap-no-such-unit failed$/m);
  const ssh = await local.exec('systemctl is-enabled --quiet ssh');
  assert.equal(answers.byCommand.get('systemctl is-enabled --quiet ssh')?.exitCode === 0, ssh.exitCode === 0);
});

test('a none plan starts one gathering script and only the probes it could not declare', async (t) => {
  const host = new FixedHost(debianWorkstation());
  const opts = engineOptions(t, host);
  // The published checksums are fetched while planning: give the download cache stand-ins.
  const { plan, exitCode } = await engine.plan(opts, 'driver-none', { kubernetesVersion: 'v1.31.4' });
  assert.equal(exitCode, 0, JSON.stringify(plan.steps.filter((s) => s.error).map((s) => s.error)));
  const [gathering, ...rest] = host.commands;
  assert.match(gathering!, /^k=@@kubestrap-fact@@\n/);
  // Asked on their own: sudo -n true (only of a user who is not root), each package transaction's
  // simulation (it depends on what the plan found missing) and the API server check (it needs the
  // kubectl the plan installs). The runtime's binaries, the cached archives' checksums, the CNI
  // configurations present and the capability bounding set are gathered.
  const others = rest.map((c) => c.split('\n')[0]!.slice(0, 60));
  assert.deepEqual(others, [
    'sudo -n true',
    "sh -c 'export LC_ALL=C",
    "sh -c 'export LC_ALL=C",
    '/var/lib/kubestrap/binaries/v1.31.4/kubectl --kubeconfig /ho',
  ]);
  // Every probe is still listed in its step, read-only; the script is listed first, as what ran.
  const probes = plan.steps.flatMap((s) => s.effects.filter((e) => e.kind === 'probe'));
  assert.equal(probes[0]!.command, gathering);
  assert.ok(probes.every((p) => p.kind === 'probe' && p.readOnly));
  assert.ok(probes.some((p) => p.command === 'sh -c \'command -v "$1" >/dev/null 2>&1\' sh conntrack'));
  assert.ok(probes.some((p) => p.command === 'systemctl is-active --quiet containerd'));
});

test('a run asks again after a command changed the host; a plan asks each probe once', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state');
  writeFileSync(file, 'before\n');
  const seen: string[] = [];
  const task = defineTask({
    name: 'probe-change',
    params: { file: { type: 'string' } },
    description: 'reads a file with a probe, changes it, reads it again',
    async run(ctx, p) {
      seen.push(`${ctx.mode} ${(await ctx.probe`cat ${p.file}`).stdout.trim()}`);
      seen.push(`${ctx.mode} ${(await ctx.probe`cat ${p.file}`).stdout.trim()}`);
      await ctx.$`sh -c ${'echo after > "$1"'} sh ${p.file}`;
      seen.push(`${ctx.mode} ${(await ctx.probe`cat ${p.file}`).stdout.trim()}`);
    },
  });
  const recipe = join(dir, 'recipe.yaml');
  writeFileSync(recipe, `name: probe-change\nsteps:\n  - id: change\n    task: probe-change\n    with: { file: ${JSON.stringify(file)} }\n`);
  const host = new CountingHost();
  const opts = engineOptions(t, host, [...builtinTasks, task]);
  const out = await engine.run(opts, recipe, {}, async () => {});
  assert.equal(out.exitCode, 0);
  assert.equal(readFileSync(file, 'utf8'), 'after\n');
  // The plan's exec is not performed, so its third read is still 'before'; the run's is 'after'.
  assert.deepEqual(seen, ['plan before', 'plan before', 'plan before', 'run before', 'run before', 'run after']);
  const cats = host.commands.filter((c) => c.startsWith('cat '));
  // Plan: once. Run: once before the change (kept for the second read), once after it.
  assert.equal(cats.length, 3, host.commands.join('\n'));
});

test('a step keeps what it read while a step beside it changes the host, and forgets it at its own change', async (t) => {
  const dir = tempDir(t);
  const mine = join(dir, 'mine');
  const other = join(dir, 'other');
  writeFileSync(mine, 'before\n');
  // The two steps take turns: the reader reads, the writer changes the host, the reader reads again.
  let wrote!: () => void;
  const written = new Promise<void>((r) => {
    wrote = r;
  });
  let read!: () => void;
  const firstRead = new Promise<void>((r) => {
    read = r;
  });
  const facts = (p: { file: string }) => [commandFact`cat ${p.file}`, commandFact`test -s ${p.file}`];
  const seen: string[] = [];
  const writer = defineTask({
    name: 'view-writer',
    params: { file: { type: 'string' } },
    description: 'changes the host once the reader has read',
    async run(ctx, p) {
      if (ctx.mode === 'run') await firstRead;
      await ctx.$`sh -c ${'echo x > "$1"'} sh ${p.file}`;
      if (ctx.mode === 'run') wrote();
    },
  });
  const reader = defineTask({
    name: 'view-reader',
    params: { file: { type: 'string' } },
    description: 'reads its facts, again after the writer, then changes its file',
    facts,
    async run(ctx, p) {
      const [cat, nonEmpty] = facts(p);
      seen.push(`${ctx.mode} ${(await ctx.fact(cat!)).stdout.trim()}`);
      if (ctx.mode === 'run') {
        read();
        await written;
      }
      seen.push(`${ctx.mode} ${(await ctx.fact(cat!)).stdout.trim()} ${(await ctx.fact(nonEmpty!)).ok}`);
      await ctx.$`sh -c ${'echo after > "$1"'} sh ${p.file}`;
      seen.push(`${ctx.mode} ${(await ctx.fact(cat!)).stdout.trim()}`);
    },
  });
  const recipe = join(dir, 'recipe.yaml');
  writeFileSync(
    recipe,
    `name: view\nsteps:\n  - id: reader\n    task: view-reader\n    with: { file: ${
      JSON.stringify(mine)
    } }\n  - id: writer\n    task: view-writer\n    with: { file: ${JSON.stringify(other)} }\n`,
  );
  const host = new CountingHost();
  const opts = { ...engineOptions(t, host, [...builtinTasks, writer, reader]), concurrency: 2 };
  const out = await engine.run(opts, recipe, {}, async () => {});
  assert.equal(out.exitCode, 0);
  assert.deepEqual(seen.filter((l) => l.startsWith('run')), ['run before', 'run before true', 'run after']);
  // The run's gathering answers both facts; the writer's change does not make the reader ask again
  // (one command each, before this view); the reader's own change does, for the one fact it reads.
  const runStart = host.commands.map((c) => c.startsWith('k=@@kubestrap-fact@@')).lastIndexOf(true);
  const after = host.commands.slice(runStart + 1);
  assert.deepEqual(after.filter((c) => c.startsWith('cat ') || c.startsWith('test -s')).map((c) => c.split(' ')[0]), ['cat'], after.join('\n---\n'));
});

const skipSsh = isRoot ? missing(['sshd', 'useradd'], 'apt-get install openssh-server passwd') : 'needs root (creates a throw-away user for sshd)';

test('after a step changed the host, the next step asks its own facts again in one script', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state');
  writeFileSync(file, 'before\n');
  const facts = (p: { file: string }) => [commandFact`cat ${p.file}`, commandFact`test -s ${p.file}`, commandPresent('sh')];
  const seen: string[] = [];
  const change = defineTask({
    name: 'fact-change',
    params: { file: { type: 'string' } },
    description: 'reads its facts, then changes the file',
    facts,
    async run(ctx, p) {
      for (const f of facts(p)) await ctx.fact(f);
      await ctx.$`sh -c ${'echo after > "$1"'} sh ${p.file}`;
    },
  });
  const read = defineTask({
    name: 'fact-read',
    params: { file: { type: 'string' } },
    description: 'reads its facts',
    facts,
    async run(ctx, p) {
      const [cat, ...rest] = facts(p);
      seen.push(`${ctx.mode} ${(await ctx.fact(cat!)).stdout.trim()}`);
      for (const f of rest) assert.equal((await ctx.fact(f)).ok, true);
    },
  });
  const recipe = join(dir, 'recipe.yaml');
  const w = `with: { file: ${JSON.stringify(file)} }`;
  writeFileSync(
    recipe,
    `name: fact-change\nsteps:\n  - id: change\n    task: fact-change\n    ${w}\n  - id: read\n    task: fact-read\n    needs: [change]\n    ${w}\n`,
  );
  const host = new CountingHost();
  const opts = engineOptions(t, host, [...builtinTasks, change, read]);
  const out = await engine.run(opts, recipe, {}, async () => {});
  assert.equal(out.exitCode, 0);
  assert.deepEqual(seen, ['plan before', 'run after']);
  // The plan gathers once; the run gathers once, changes the file, then gathers the read step's
  // three facts in one script: no fact is asked on its own.
  const gatherings = host.commands.filter((c) => c.startsWith('k=@@kubestrap-fact@@'));
  assert.equal(gatherings.length, 3, host.commands.join('\n---\n'));
  assert.deepEqual(host.commands.filter((c) => c.startsWith('cat ') || c.startsWith('test -s') || c.startsWith("sh -c 'command -v")), []);
  assert.match(gatherings[2]!, /cat /);
});

test('ssh host: one gathering script, with the user facts, answers as single probes do', { skip: skipSsh, timeout: 60_000 }, async (t) => {
  const { SshHost } = await import('../core/hosts/ssh.ts');
  const user = createTestUser(t);
  const s = await startSshd(t);
  const host = await SshHost.connect({
    address: s.address,
    port: s.port,
    user: user.name,
    key: s.key,
    knownHosts: join(tempDir(t), 'known_hosts'),
    readKnownHosts: [],
  });
  t.after(() => host.close());
  await gatheredEqualsSingle(host);
  // The user facts come with the gathering: no command of their own afterwards.
  const { ProbeCache } = await import('../core/probe-cache.ts');
  const cache = new ProbeCache();
  const fresh = await SshHost.connect({
    address: s.address,
    port: s.port,
    user: user.name,
    key: s.key,
    knownHosts: join(tempDir(t), 'known_hosts'),
    readKnownHosts: [],
  });
  t.after(() => fresh.close());
  const asked: string[] = [];
  const exec = fresh.exec.bind(fresh);
  fresh.exec = (command, o) => {
    asked.push(command);
    return exec(command, o);
  };
  await cache.gather(fresh, () => [ARCH], new AbortController().signal);
  assert.deepEqual(await fresh.facts(), { uid: user.uid, gid: user.uid, user: user.name, home: user.home });
  assert.equal((await cache.probe(fresh, ARCH.command, new AbortController().signal)).exitCode, 0);
  assert.equal(asked.length, 1, asked.join('\n---\n'));
});

const skipDocker = missing(['dockerd', 'containerd', 'runc'], DOCKER_INSTALL) ?? missing(['mmdebstrap'], MMDEBSTRAP_INSTALL);

test('docker host: the gathering script answers as single probes do', { skip: skipDocker, timeout: 15 * 60_000 }, async (t) => {
  const { DockerHost } = await import('../core/hosts/docker.ts');
  const socket = await startDockerd(t);
  const image = await nodeImage(socket);
  const docker = new Docker({ socketPath: socket });
  const name = `ks-facts-${randomBytes(3).toString('hex')}`;
  const c = await docker.createContainer({ name, Image: image, Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'none' } });
  t.after(async () => {
    await c.remove({ force: true }).catch(() => {});
  });
  await c.start();
  const host = await DockerHost.connect({ container: name, socket: `unix://${socket}` });
  t.after(() => host.close());
  await gatheredEqualsSingle(host);
  const { ProbeCache } = await import('../core/probe-cache.ts');
  await new ProbeCache().gather(host, () => [ARCH], new AbortController().signal);
  assert.deepEqual(await host.facts(), { uid: 0, gid: 0, user: 'root', home: '/root' });
});

test('a host an earlier step creates is never gathered from', async () => {
  const { FutureHost } = await import('../core/hosts/future.ts');
  const { ProbeCache } = await import('../core/probe-cache.ts');
  const future = new FutureHost('ssh:<output of vm>:22', 'ssh', 'root', ['vm']);
  let asked = 0;
  future.exec = async () => {
    asked++;
    return { stdout: '', stderr: '', exitCode: 1 };
  };
  assert.equal(await new ProbeCache().gather(future, () => [ARCH, CPUS], new AbortController().signal), undefined);
  assert.equal(asked, 0);
});

// Benchmark of the docker driver on this machine: wall time of a 3-node start against a 1-node
// start (nodes are created side by side: goal ≤ 1.3×), both up to the API server wait (as far as
// this machine allows: no image registry, kubeadm is the release test double), on the node image
// kubestrap builds, and kubestrap's per-node
// overhead over the daemon's own create + start + systemd boot of the same container.
// Run: nice -n 10 node --import tsx bench/container-nodes.ts [ROUNDS]   (root; a private dockerd)
// BENCH_ACCT=1 also prints the CPU of the programs that ended during each start, by name, from the
// kernel's process accounting (acct package); it turns accounting off at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { performCall, type RunSpec } from '../core/engine-api.ts';
import { CGROUP_RW_SCRIPT } from '../tasks/container/privileges.ts';
import { nodeImagePackages } from '../tasks/build-node-image.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../tasks/k8s/versions.ts';
import { startDockerd } from '../test/helpers/dockerd.ts';
import { startRelease } from '../test/helpers/k8s-release.ts';
import { execIn, nodeImage } from '../test/helpers/node-image.ts';
import { median } from './measure.ts';
import { ACCT_INSTALL, processAccountingAvailable, startAccounting, stopAccounting } from './process-cpu.ts';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const rounds = Number(process.argv[2] ?? 3);
// The version a user gets without asking.
const VERSION = DEFAULT_KUBERNETES_VERSION;
const accounting = process.env.BENCH_ACCT === '1';

interface Run {
  wall: number;
  /** CPU time of the whole machine during the start (daemon, nodes, kubestrap), up to the bounded wait. */
  cpu: number;
  provision: number[];
  steps: Map<string, number>;
  /** CPU time up to the wait of each node container's cgroup (systemd and all it runs), by node. */
  nodeCpu: Map<string, number>;
  /** CPU time of kubestrap's own process (and the probes it waited for), up to the end of the run. */
  selfCpu: number;
  /** BENCH_ACCT: CPU ms of the programs that ended during the start, by name. */
  programs: Map<string, number>;
}

async function main(): Promise<void> {
  const teardown: (() => void | Promise<void>)[] = [];
  const td = {
    after: (fn: () => void | Promise<void>) => {
      teardown.push(fn);
    },
  };
  if (accounting && !processAccountingAvailable()) throw new Error(`BENCH_ACCT=1 needs accton and dump-acct: ${ACCT_INSTALL}`);
  const dir = mkdtempSync(join(os.tmpdir(), 'ks-bench-nodes-'));
  try {
    // The command users run: the built CLI.
    const built = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}\n${built.stderr}`);
    const socket = await startDockerd(td);
    const docker = new Docker({ socketPath: socket });
    const image = await nodeImage(socket, { packages: nodeImagePackages('containerd') });
    const release = await startRelease(td, dir, VERSION);
    const env = { ...process.env, KUBESTRAP_HOME: join(dir, 'home'), HOME: dir, NO_COLOR: '1' };

    // Asynchronous: the release test double is served by this process, which must keep answering.
    const start = async (profile: string, nodes: number): Promise<Run> => {
      const sets = [
        'engine=docker',
        `socket=unix://${socket}`,
        'subnet=192.168.215.0/24',
        'subnetStep=1',
        'subnetTries=4',
        `imageFrom=${image}`,
        'waitTimeout=5',
        `binaryMirror=${release.binaryMirror}`,
        `criToolsMirror=${release.criToolsMirror}`,
        `containerdMirror=${release.containerdMirror}`,
        `runcMirror=${release.runcMirror}`,
        `cniPluginsMirror=${release.cniPluginsMirror}`,
        `kubernetesVersion=${VERSION}`,
        ...Array.from({ length: 4 }, (_, i) => `worker${i + 1}=${i + 1 < nodes}`),
      ].flatMap((s) => ['--set', s]);
      const t0 = performance.now();
      const busy0 = machineBusyMs();
      let waitAt: number | undefined;
      let nodeCpu = new Map<string, number>();
      let atWait: Promise<void> | undefined;
      const stopAcct = accounting ? startAccounting(join(dir, `${profile}.acct`)) : undefined;
      const r = await new Promise<{ stdout: string; stderr: string; selfCpu: number }>((resolve, reject) => {
        const child = spawn('sh', [
          '-c',
          'node "$@"; s=$?; times >&2; exit $s',
          'sh',
          join(root, 'bin', 'kubestrap.js'),
          'run',
          'driver-docker',
          '-p',
          profile,
          ...sets,
          '--yes',
          '--json',
        ], {
          env,
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => {
          stdout += b.toString('utf8');
          // The machine's CPU up to the bounded wait, which is not part of the start.
          if (waitAt === undefined && /"type":"step-start","step":"cp\.wait"/.test(stdout)) {
            waitAt = machineBusyMs();
            atWait = containersCpuMs(docker, profile).then((m) => {
              nodeCpu = m;
            });
          }
        });
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString('utf8');
        });
        child.on('error', reject);
        child.on('close', () => {
          // The shell's `times` after the run: the CPU of kubestrap and of the children it waited for.
          const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\n$/.exec(stderr);
          const selfCpu = m ? (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000 : NaN;
          resolve({ stdout, stderr, selfCpu });
        });
      });
      await atWait;
      const programs = stopAcct?.() ?? new Map<string, number>();
      // BENCH_EVENTS=DIR keeps each run's events (--json lines) there, to see where a step's time goes.
      if (process.env.BENCH_EVENTS) writeFileSync(join(process.env.BENCH_EVENTS, `${profile}.jsonl`), r.stdout);
      const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: string; ms?: number; error?: string });
      const failed = events.filter((e) => e.type === 'step-failed');
      // The run ends where this machine ends it: the wait for the API server, which the stand-in
      // kubeadm never starts. Its bounded wait (waitTimeout) is not part of the start.
      if (failed.length !== 1 || failed[0]!.step !== 'cp.wait') {
        throw new Error(`unexpected end of the run: ${JSON.stringify(failed).slice(0, 2000)}\n${r.stderr}`);
      }
      const wall = performance.now() - t0 - failed[0]!.ms!;
      const cpu = (waitAt ?? machineBusyMs()) - busy0;
      const provision = events.filter((e) => e.type === 'step-finish' && /-node$/.test(e.step ?? '')).map((e) => e.ms!);
      const steps = new Map(events.filter((e) => e.type === 'step-finish' || e.type === 'step-failed').map((e) => [e.step!, e.ms!]));
      return { wall, cpu, provision, steps, nodeCpu, selfCpu: r.selfCpu, programs };
    };
    const remove = async (profile: string) => {
      const filter = JSON.stringify({ label: [`io.kubestrap.profile=${profile}`] });
      for (const c of await docker.listContainers({ all: true, filters: filter })) await docker.getContainer(c.Id).remove({ force: true, v: true });
      for (const v of (await docker.listVolumes({ filters: filter })).Volumes ?? []) await docker.getVolume(v.Name).remove();
      for (const n of await docker.listNetworks({ filters: filter })) await docker.getNetwork(n.Id).remove();
    };
    // The daemon alone: the node container kubestrap makes, created, started and booted to systemd.
    const raw = async (i: number): Promise<number> => {
      const net = await docker.createNetwork({
        Name: `ks-bench-raw-${i}`,
        Driver: 'bridge',
        IPAM: { Config: [{ Subnet: '192.168.219.0/24', Gateway: '192.168.219.1' }] },
      });
      const spec: RunSpec = {
        name: `ks-bench-raw-${i}`,
        hostname: `ks-bench-raw-${i}`,
        image,
        labels: {},
        network: `ks-bench-raw-${i}`,
        ip: '192.168.219.2',
        privileged: false,
        capAdd: ['ALL'],
        capDrop: ['SYS_RESOURCE'],
        securityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        cgroupns: 'private',
        tmpfs: ['/run', '/tmp'],
        volumes: [`ks-bench-raw-${i}:/var`],
        devices: [],
        env: ['container=docker'],
        stopSignal: 'SIGRTMIN+3',
        publish: [],
        entrypoint: '/bin/sh',
        args: ['-c', CGROUP_RW_SCRIPT, 'kubestrap-node', '/sbin/init'],
      };
      const t0 = performance.now();
      await performCall({ engine: 'docker', socket }, { op: 'container.run', spec });
      for (;;) {
        const s = (await execIn(docker, spec.name, ['systemctl', 'is-system-running'])).stdout.trim();
        if (s === 'running' || s === 'degraded') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const ms = performance.now() - t0;
      await docker.getContainer(spec.name).remove({ force: true, v: true });
      await docker.getVolume(spec.name).remove();
      await net.remove();
      return ms;
    };

    const one: Run[] = [];
    const three: Run[] = [];
    const daemon: number[] = [];
    // Untimed: the first start builds the node image (cached by its inputs for the rest).
    await start('bench-warm', 1);
    await remove('bench-warm');
    for (let i = 0; i < rounds; i++) {
      daemon.push(await raw(i));
      one.push(await start(`bench1-${i}`, 1));
      await remove(`bench1-${i}`);
      three.push(await start(`bench3-${i}`, 3));
      await remove(`bench3-${i}`);
    }
    const w1 = median(one.map((r) => r.wall));
    const w3 = median(three.map((r) => r.wall));
    const p1 = median(one.map((r) => r.provision[0]!));
    const p3 = median(three.map((r) => Math.max(...r.provision)));
    const d = median(daemon);
    const load = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
    console.log(`rounds: ${rounds}; load average after: ${load}`);
    console.log('| measure | median ms |');
    console.log('| --- | ---: |');
    console.log(`| start, 1 node, up to the API server wait | ${w1.toFixed(0)} |`);
    console.log(`| start, 3 nodes, up to the API server wait | ${w3.toFixed(0)} (${(w3 / w1).toFixed(2)}× 1 node) |`);
    console.log(`| provision-node step, 1 node (create, start, systemd up) | ${p1.toFixed(0)} |`);
    console.log(`| provision-node steps, 3 nodes at once (the slowest) | ${p3.toFixed(0)} |`);
    console.log(`| the daemon alone: create + start + systemd up, 1 node | ${d.toFixed(0)} |`);
    console.log(`| kubestrap's overhead per node (provision step − daemon alone) | ${(p1 - d).toFixed(0)} |`);
    // On this machine the nodes' work is CPU: three nodes cannot take less than their CPU time shared by every core.
    const c1 = median(one.map((r) => r.cpu));
    const c3 = median(three.map((r) => r.cpu));
    const cores = os.cpus().length;
    console.log(`| CPU time of the whole machine, 1 node, up to the wait | ${c1.toFixed(0)} |`);
    console.log(`| CPU time of the whole machine, 3 nodes | ${c3.toFixed(0)} (${(c3 / c1).toFixed(2)}× 1 node) |`);
    console.log(
      `| the least 3 nodes can take on ${cores} cores: their CPU time ÷ ${cores} | ${(c3 / cores).toFixed(0)} (${(c3 / cores / w1).toFixed(2)}× 1 node) |`,
    );
    // Whose CPU it is: each node container's cgroup (systemd and all it runs), kubestrap's process, the rest (the daemon, its shims, the machine).
    for (const [label, runs] of [['1 node', one], ['3 nodes', three]] as const) {
      const nodes = [...new Set(runs.flatMap((r) => [...r.nodeCpu.keys()]))].sort();
      const parts = nodes.map((n) => `${n} ${median(runs.map((r) => r.nodeCpu.get(n) ?? 0)).toFixed(0)}`);
      const self = median(runs.map((r) => r.selfCpu));
      const rest = median(runs.map((r) => r.cpu - r.selfCpu - [...r.nodeCpu.values()].reduce((a, b) => a + b, 0)));
      console.log(`| CPU ms, ${label}: node cgroups | ${parts.join(', ')} |`);
      console.log(`| CPU ms, ${label}: kubestrap / the rest (daemon, shims, machine) | ${self.toFixed(0)} / ${rest.toFixed(0)} |`);
    }
    // Where the time goes: each step's median, the slowest first (steps of a node run side by side
    // with the other nodes' steps).
    for (const [label, runs] of [['1 node', one], ['3 nodes', three]] as const) {
      const ids = [...new Set(runs.flatMap((r) => [...r.steps.keys()]))];
      const slowest = ids.map((id) => [id, median(runs.map((r) => r.steps.get(id) ?? 0))] as const).sort((a, b) => b[1] - a[1]).slice(0, 8);
      console.log(`\nslowest steps, ${label}: ${slowest.map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
    }
    if (accounting) {
      for (const [label, runs] of [['1 node', one], ['3 nodes', three]] as const) {
        const names = [...new Set(runs.flatMap((r) => [...r.programs.keys()]))];
        const top = names.map((n) => [n, median(runs.map((r) => r.programs.get(n) ?? 0))] as const).sort((a, b) => b[1] - a[1]).slice(0, 10);
        console.log(`\nCPU of the programs that ended, ${label}: ${top.map(([n, ms]) => `${n} ${ms.toFixed(0)} ms`).join(', ')}`);
      }
    }
  } finally {
    if (accounting) stopAccounting();
    for (const fn of teardown.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time of each of a profile's node containers so far, from its cgroup (cgroup v1 cpuacct or v2 cpu.stat), in ms. */
async function containersCpuMs(docker: Docker, profile: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const filter = JSON.stringify({ label: [`io.kubestrap.profile=${profile}`] });
  for (const c of await docker.listContainers({ all: true, filters: filter })) {
    const pid = (await docker.getContainer(c.Id).inspect()).State.Pid;
    // By the node's place in the profile (cp, m02, …), the same in every round.
    out.set(c.Names[0]!.replace(/^\//, '').slice(profile.length).replace(/^-/, '') || 'cp', cgroupCpuMs(pid));
  }
  return out;
}

function cgroupCpuMs(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => /^\d+:[^:]*\bcpuacct\b[^:]*:/.test(l));
  if (v1) {
    const path = v1.split(':').slice(2).join(':');
    const dir = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) =>
      f.includes('cgroup') && /\bcpuacct\b/.test(f.at(-1) ?? '')
    )?.[4];
    return Number(readFileSync(join(dir ?? '/sys/fs/cgroup/cpuacct', path, 'cpuacct.usage'), 'utf8')) / 1e6;
  }
  const v2 = lines.find((l) => l.startsWith('0::'))!.slice(3);
  const usec = /usage_usec (\d+)/.exec(readFileSync(join('/sys/fs/cgroup', v2, 'cpu.stat'), 'utf8'))![1];
  return Number(usec) / 1000;
}

/** Busy time of every CPU since boot (user, nice, system, irq, softirq, steal), from /proc/stat, in ms. */
function machineBusyMs(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  // USER_HZ is 100 on Linux.
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10;
}

await main();

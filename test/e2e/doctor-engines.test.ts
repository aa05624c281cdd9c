// `kubestrap doctor` against real container engines: a private dockerd and a private podman service
// started by the test. Every finding of the docker/podman step is compared with what the test finds
// out itself: the daemon's own GET /info and /version over its socket, a --privileged container it
// really tries to run, /proc (inotify limits, the capability bounding set, decoded by capsh), and the
// host's addresses and routes (`ip -j`) plus the daemon's networks for the subnet offered. The host
// is left as found: the test's network goes with the engine, and the test checks that no interface
// of its own stays behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { BUSYBOX_INSTALL, busyboxArchive } from '../helpers/busybox-image.ts';
import { api, DOCKER_INSTALL, otherPodmanRunning, PODMAN_INSTALL, startDockerd, startPodman } from '../helpers/dockerd.ts';
import { isRoot, missing, tempDir } from '../helpers/env.ts';
import { cgroupSharers, hostChangesExplained, snapshotHost } from '../helpers/host-state.ts';

interface Note {
  level: string;
  message: string;
  fix?: string;
}
interface Event {
  type: string;
  step?: string;
  note?: Note;
  error?: string;
  status?: string;
}
interface Info {
  CgroupVersion: string;
  CgroupDriver: string;
  Driver: string;
  SecurityOptions: string[] | null;
  MemoryLimit: boolean;
  CpuCfsQuota: boolean;
}
type Teardown = { after(fn: () => void | Promise<void>): void };

/** Runs the CLI with --json and its own KUBESTRAP_HOME; returns the exit code, the events and one step's notes. */
async function doctor(t: Teardown, argv: string[], env: Record<string, string>) {
  const r = await runCli([...argv, '--json'], { env: { KUBESTRAP_HOME: tempDir(t), ...env } });
  const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
  const notesOf = (step: string) => events.filter((e) => e.type === 'note' && e.step === step).map((e) => e.note!);
  return { ...r, events, notesOf };
}

const shown = (notes: Note[]) => notes.map((n) => `${n.level} ${n.message}`).join('\n');

/** What the daemon says of itself, asked over its socket without kubestrap. */
async function ask<T>(socket: string, path: string): Promise<T> {
  const r = await api(socket, 'GET', path);
  assert.equal(r.status, 200, `GET ${path}: ${r.body}`);
  return JSON.parse(r.body) as T;
}

// ——— the host, read by the test ———

/** A CIDR as the inclusive range of addresses it covers. */
function range(cidr: string): [number, number] {
  const [ip, bits = '32'] = cidr.split('/');
  const n = ip!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  const lo = n - (n % size);
  return [lo, lo + size - 1];
}
const overlap = (a: string, b: string) => {
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
};

/** Interface networks and route destinations of this machine (all tables), from iproute2's JSON. */
function hostSubnets(): string[] {
  const addrs = JSON.parse(execFileSync('ip', ['-j', '-4', 'addr', 'show'], { encoding: 'utf8' })) as { addr_info: { local: string; prefixlen: number }[] }[];
  const routes = JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })) as { dst: string }[];
  return [
    ...addrs.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)),
    ...routes.map((r) => r.dst).filter((d) => d !== 'default'),
  ];
}

/** minikube's search, which doctor documents: 192.168.49.0/24, then 9 further in the third octet, 20 tries. */
function firstFree(taken: string[]): string | undefined {
  for (let i = 0; i < 20 && 49 + 9 * i <= 255; i++) {
    const candidate = `192.168.${49 + 9 * i}.0/24`;
    if (!taken.some((t) => overlap(t, candidate))) return candidate;
  }
  return undefined;
}

const proc = (path: string) => readFileSync(path, 'utf8').trim();

/** The capabilities this machine's bounding set lacks (up to the kernel's last), as capsh names them: CAP_SYS_RESOURCE, … */
function missingCapabilities(): string[] {
  const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(proc('/proc/self/status'))![1]}`);
  const all = (1n << BigInt(Number(proc('/proc/sys/kernel/cap_last_cap')) + 1)) - 1n;
  const lacking = all & ~bounding;
  if (!lacking) return [];
  const decoded = execFileSync('capsh', [`--decode=0x${lacking.toString(16)}`], { encoding: 'utf8' }).trim();
  return decoded.slice(decoded.indexOf('=') + 1).split(',').map((c) => c.toUpperCase());
}

const linkNames = () => new Set((JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[]).map((l) => l.ifname));

// ——— the engines ———

const base = missing(['busybox'], BUSYBOX_INSTALL) ?? missing(['capsh'], 'apt-get install libcap2-bin') ?? missing(['ip'], 'apt-get install iproute2') ??
  (isRoot ? undefined : 'needs root for a private daemon');
const ENGINES = [
  { engine: 'docker', start: startDockerd, hostVar: 'DOCKER_HOST', skip: base ?? missing(['dockerd', 'containerd', 'runc', 'docker'], DOCKER_INSTALL) },
  { engine: 'podman', start: startPodman, hostVar: 'CONTAINER_HOST', skip: base ?? missing(['podman'], PODMAN_INSTALL) },
] as const;

/** The engine's CLI on a socket: a second, independent client for what the test makes and tries. */
function engineCli(engine: string, socket: string) {
  const prefix = engine === 'docker' ? ['-H', `unix://${socket}`] : ['--url', `unix://${socket}`];
  return (...args: string[]) => spawnSync(engine, [...prefix, ...args], { encoding: 'utf8', timeout: 120_000 });
}

/** Loads a busybox image into the engine and tries `run --privileged` with it: did it start, and what did the engine say. */
function tryPrivileged(t: Teardown, cli: ReturnType<typeof engineCli>): { ok: boolean; said: string } {
  const image = 'ks-doctor-busybox:1';
  const load = cli('load', '-i', busyboxArchive(tempDir(t), [{ name: image, entrypoint: ['/bin/sh'] }]));
  assert.equal(load.status, 0, load.stderr);
  // No network: a podman container on the default network would create podman0 on the host.
  const r = cli('run', '--rm', '--network', 'none', '--privileged', image, '-c', 'true');
  return { ok: r.status === 0, said: r.stderr.trim() };
}

for (const { engine, start, hostVar, skip } of ENGINES) {
  test(`doctor's ${engine} findings are what the ${engine} daemon, /proc and the host's routes say`, { skip, timeout: 300_000 }, async (t) => {
    const network = `ks-doctor-${randomBytes(3).toString('hex')}`;
    let bridge = '';
    let socket = '';
    const links = linkNames();
    const before = snapshotHost();
    const sharers = cgroupSharers();
    // The engine is stopped inside the test, so the host can be compared after it is gone.
    const teardown: (() => void | Promise<void>)[] = [];
    try {
      socket = await start({
        after: (fn) => {
          teardown.push(fn);
        },
      });
      const cli = engineCli(engine, socket);
      const info = await ask<Info>(socket, '/info');
      const version = await ask<{ Version: string; ApiVersion: string }>(socket, '/version');
      const security = info.SecurityOptions ?? [];

      // The first subnet of the search is taken on this engine: doctor must offer another one.
      const made = cli('network', 'create', '--subnet', '192.168.49.0/24', network);
      assert.equal(made.status, 0, made.stderr);
      if (engine === 'docker') {
        // dockerd gives the network its bridge at once: the host's interfaces now cover the subnet too.
        bridge = `br-${made.stdout.trim().slice(0, 12)}`;
        assert.ok(linkNames().has(bridge), `dockerd made ${bridge}`);
      }
      const privileged = tryPrivileged({
        after: (fn) => {
          teardown.push(fn);
        },
      }, cli);

      const r = await doctor(t, ['run', 'doctor', '--set', 'kvmBootTest=false'], { [hostVar]: `unix://${socket}` });
      assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
      const notes = r.notesOf(engine);
      const all = shown(notes);
      const has = (message: string) => notes.find((n) => n.message === message);
      const matching = (re: RegExp) => notes.filter((n) => re.test(n.message));

      assert.ok(has(`${engine} ${version.Version} answers at ${socket} (API ${version.ApiVersion})`), all);
      assert.ok(has(`cgroup v${info.CgroupVersion} with the ${info.CgroupDriver} cgroup driver; storage driver ${info.Driver}`), all);
      assert.equal(matching(/storage driver copies every layer/).length, info.Driver === 'vfs' ? 1 : 0, all);
      assert.equal(matching(/cannot limit memory/).length, info.MemoryLimit ? 0 : 1, all);
      assert.equal(matching(/cannot limit CPU time/).length, info.CpuCfsQuota ? 0 : 1, all);
      if (security.some((s) => /name=rootless/.test(s))) assert.equal(matching(new RegExp(`^${engine} runs rootless`)).length, 1, all);
      else assert.ok(has(`${engine} runs as root (rootful)`), all);
      assert.equal(matching(/userns-remap/).length, security.some((s) => /name=userns/.test(s)) ? 1 : 0, all);

      // Privileged: doctor's word against the engine's answer to a real --privileged container.
      const lacking = missingCapabilities();
      const fails = matching(/^privileged containers fail here/);
      const works = matching(/^privileged node containers work here$/);
      if (privileged.ok) {
        assert.equal(works.length, 1, `the engine ran a --privileged container:\n${all}`);
        assert.equal(fails.length, 0, all);
      } else {
        assert.equal(works.length, 0, `the engine refused --privileged (${privileged.said}):\n${all}`);
        assert.equal(fails.length, 1, all);
        // What doctor quotes is what the engine said, and the capabilities it names are the ones /proc lacks.
        assert.match(privileged.said, /unable to apply caps: operation not permitted/);
        assert.equal(
          fails[0]!.message,
          `privileged containers fail here (the capability bounding set lacks ${lacking.join(', ')}: "unable to apply caps: operation not permitted")`,
        );
      }
      // Docker asks the kernel for every capability; podman only for those it holds.
      if (engine === 'docker') assert.equal(privileged.ok, lacking.length === 0, privileged.said);

      // The subnet: the first of the search that neither the host nor the engine's networks cover.
      const offer = /^a profile network would get (\S+)$/.exec(matching(/^a profile network would get /)[0]?.message ?? '')?.[1];
      const engineSubnets = (await ask<{ IPAM?: { Config?: { Subnet?: string }[] | null } }[]>(socket, '/networks'))
        .flatMap((n) => n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => !!s && s.includes('.'));
      assert.ok(engineSubnets.includes('192.168.49.0/24'), engineSubnets.join(' '));
      assert.notEqual(offer, '192.168.49.0/24', all);
      assert.equal(offer, firstFree([...hostSubnets(), ...engineSubnets]), all);

      // inotify: kind's known-issues values (524288 watches, 512 instances) against /proc.
      const watches = Number(proc('/proc/sys/fs/inotify/max_user_watches'));
      const instances = Number(proc('/proc/sys/fs/inotify/max_user_instances'));
      const low = matching(/^inotify limits are low/);
      if (watches < 524288 || instances < 512) {
        assert.equal(
          low[0]?.message,
          `inotify limits are low for several nodes (max_user_watches ${watches}, max_user_instances ${instances}): kubelets fail with "too many open files"`,
          all,
        );
        assert.equal(low[0]?.fix, 'sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512');
      } else assert.equal(low.length, 0, all);

      // Doctor without --driver: nothing here stops nodes, so no finding is an error.
      assert.deepEqual(notes.filter((n) => n.level === 'error'), []);
      const removed = cli('network', 'rm', network);
      assert.equal(removed.status, 0, removed.stderr);
    } finally {
      for (const fn of teardown.reverse()) await fn();
      // What only this test can have made: its network's bridge; podman's bridge if it appeared now.
      const left = [...linkNames()].filter((l) =>
        !links.has(l) && (l === bridge || (engine === 'podman' && /^(cni-)?podman0$/.test(l) && !otherPodmanRunning()))
      );
      for (const l of left) spawnSync('ip', ['link', 'delete', l], { stdio: 'ignore' });
      assert.deepEqual(left, [], 'interfaces the test made are gone with the engine');
    }
    const { changes } = hostChangesExplained(before, snapshotHost(), {
      subnets: /\b192\.168\.49\./,
      names: () => [network, socket.replace(/\/[^/]+$/, '')].filter(Boolean),
    }, sharers);
    assert.deepEqual(changes, []);
  });
}

// The helper binds its own ranges over these files (in a private mount namespace): they must exist.
const remapSkip = ENGINES[0].skip ?? missing(['unshare'], 'apt-get install util-linux') ??
  (existsSync('/etc/subuid') && existsSync('/etc/subgid')
    ? undefined
    : 'needs /etc/subuid and /etc/subgid (empty ones do: sudo touch /etc/subuid /etc/subgid)');

test('doctor on a dockerd with userns-remap warns that privileged node containers are refused, as the daemon refuses them', {
  skip: remapSkip,
  timeout: 180_000,
}, async (t) => {
  const teardown: (() => void | Promise<void>)[] = [];
  try {
    const socket = await startDockerd({
      after: (fn) => {
        teardown.push(fn);
      },
    }, { usernsRemap: true });
    // The daemon really remaps (its own word), and it refuses --privileged for that reason.
    assert.ok(((await ask<Info>(socket, '/info')).SecurityOptions ?? []).includes('name=userns'));
    const privileged = tryPrivileged({
      after: (fn) => {
        teardown.push(fn);
      },
    }, engineCli('docker', socket));
    assert.equal(privileged.ok, false);
    assert.match(privileged.said, /privileged mode is incompatible with user namespaces/);

    const r = await doctor(t, ['run', 'doctor', '--set', 'kvmBootTest=false'], { DOCKER_HOST: `unix://${socket}` });
    assert.equal(r.code, 0, r.stderr);
    const notes = r.notesOf('docker');
    const remap = notes.find((n) => /userns-remap/.test(n.message));
    assert.equal(remap?.level, 'warn', shown(notes));
    assert.equal(remap?.message, 'the daemon remaps user namespaces (userns-remap): privileged node containers are refused');
    assert.match(remap?.fix ?? '', /--userns=host/);
    assert.equal(notes.find((n) => n.message === 'privileged node containers work here'), undefined, shown(notes));
  } finally {
    for (const fn of teardown.reverse()) await fn();
  }
});

for (const { engine, hostVar } of ENGINES) {
  test(`doctor --driver ${engine} on a socket nobody listens on fails with one line naming the socket and the fix`, { timeout: 120_000 }, async (t) => {
    const dead = join(tempDir(t), `${engine}.sock`);
    const fix = engine === 'docker'
      ? 'start the daemon: sudo systemctl start docker (or set DOCKER_HOST to its socket)'
      : `start the service on it: podman system service --time=0 unix://${dead} (or set CONTAINER_HOST to a running service's socket)`;
    const line = `the ${engine} driver cannot run here: cannot reach ${engine} at ${dead}: no such socket (${fix})`;
    const r = await doctor(t, ['doctor', '--driver', engine], { [hostVar]: `unix://${dead}` });
    // A step failed (like doctor --driver kvm2), after the run showed every finding.
    assert.equal(r.code, 1, r.stderr + r.stdout.slice(-2000));
    assert.equal(r.events.find((e) => e.type === 'step-failed' && e.step === engine)?.error, line);
    assert.ok(r.events.some((e) => e.type === 'note' && e.step === 'check-virt'), "check-virt's findings are shown too");
    assert.equal(r.events.at(-1)?.status, 'failed');
    // Without --json, the same line as a user reads it.
    if (engine === 'docker') {
      const text = await runCli(['doctor', '--driver', engine], { env: { KUBESTRAP_HOME: tempDir(t), [hostVar]: `unix://${dead}` } });
      assert.equal(text.code, 1);
      assert.ok(text.stdout.split('\n').includes(`✗ ${engine}: ${line}`), text.stdout);
    }
  });
}

// The docker and podman drivers without an engine of their own: start flags to recipe parameters,
// and golden plans for docker and podman × runtimes × 1 and 3 nodes, made against fixed facts (a
// Debian workstation, test/helpers/fixed-host.ts, and an engine API answering reads with fixed
// values, test/helpers/fixed-engine.ts) so they are the same on every machine. The real engines
// are in test/e2e/container-*.test.ts. Regenerate with UPDATE_GOLDEN=1 and review the diff by eye.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as engine from '../core/engine.ts';
import type { PlanDocument } from '../core/plan.ts';
import { renderPlanSh } from '../core/render/plan-sh.ts';
import { renderPlanText } from '../core/render/plan-text.ts';
import { styleFor } from '../core/render/style.ts';
import { memoryMb } from '../drivers/container.ts';
import { findDriver, startParams } from '../drivers/index.ts';
import { seedChecksums } from './helpers/checksum-seed.ts';
import { debianWorkstation, FixedHost } from './helpers/fixed-host.ts';
import { planOptions as testPlanOptions } from './helpers/plan-options.ts';
import { DEBIAN_DOCKER, DEBIAN_PODMAN, startFixedEngine } from './helpers/fixed-engine.ts';
import { hasBinary, repoRoot, tempDir } from './helpers/env.ts';
import { UserError } from '../core/errors.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../tasks/k8s/versions.ts';
import { runCli } from './helpers/cli.ts';

const VERSION = 'v1.31.4';
const GOLDEN = join(repoRoot, 'test', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

/** The workstation's side of a plan: its networks and routes, capabilities, inotify limits. */
const workstation = () => {
  const m = debianWorkstation();
  return debianWorkstation({
    dirs: [...m.dirs, '/lib/modules'],
    answers: {
      ...m.answers,
      'ip -o -4 addr show':
        '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n2: enp1s0    inet 192.168.1.20/24 brd 192.168.1.255 scope global dynamic enp1s0\\       valid_lft 86000sec preferred_lft 86000sec\n',
      'ip -4 route show table all':
        'default via 192.168.1.1 dev enp1s0 proto dhcp src 192.168.1.20 metric 100\n192.168.1.0/24 dev enp1s0 proto kernel scope link src 192.168.1.20 metric 100\n172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown\nlocal 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1\n',
      'cat /proc/self/status':
        'Name:\tcat\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n',
      'cat /proc/sys/kernel/cap_last_cap': '40\n',
      'cat /proc/sys/fs/inotify/max_user_watches': '122070\n',
      'cat /proc/sys/fs/inotify/max_user_instances': '128\n',
    },
  });
};

/** The engine's options for a plan of profile demo on the workstation, with KUBESTRAP_HOME at home. */
function planOptions(home: string): engine.EngineOptions {
  return testPlanOptions(home, new FixedHost(workstation()), { profile: 'demo' });
}

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (update || !existsSync(file)) {
    if (!update) assert.fail(`${name} is missing: run with UPDATE_GOLDEN=1 to write it, then review it`);
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it; review the diff)`);
}

describe('docker and podman start flags', () => {
  it('turn --nodes into worker slots and check every value before planning', () => {
    assert.deepEqual(startParams(findDriver('docker'), { nodes: 3, cpus: '2', memory: '4g', ports: '8080:80', listenAddress: '127.0.0.1' }, {}), {
      nodes: 3,
      cpus: 2,
      memory: 4096,
      ports: ['8080:80'],
      listenAddress: '127.0.0.1',
      worker1: true,
      worker2: true,
      worker3: false,
      worker4: false,
    });
    assert.equal(memoryMb('2048mb'), 2048);
    for (
      const [flags, reason] of [
        [{ nodes: 6 }, /--nodes: 6 nodes: a profile has 1 to 5/],
        [{ nodes: 0 }, /--nodes: .*whole number ≥ 1/],
        [{ memory: 'lots' }, /--memory: "lots" is not a size/],
        [{ listenAddress: 'localhost' }, /--listen-address: "localhost" is not an IPv4 address/],
        [{ cpus: -1 }, /--cpus: -1 is not a number of CPUs/],
        [{ ports: 'x' }, /--ports: "x" is not/],
      ] as const
    ) {
      assert.throws(
        () => startParams(findDriver('podman'), flags, {}),
        (e: unknown) => e instanceof UserError && reason.test(e.message),
        JSON.stringify(flags),
      );
    }
    assert.equal(findDriver('docker').startRecipe, 'driver-docker');
    assert.equal(findDriver('podman').startRecipe, 'driver-podman');
  });
});

describe('golden plans (fixed facts: a Debian workstation with Docker or Podman)', () => {
  const style = styleFor(false, { NO_COLOR: '1' });
  for (const fixed of [DEBIAN_DOCKER, DEBIAN_PODMAN]) {
    for (const runtime of ['containerd', 'docker', 'cri-o']) {
      for (const nodes of [1, 3]) {
        it(`${fixed.engine} × ${runtime} × ${nodes} node${nodes > 1 ? 's' : ''}`, async (t) => {
          const home = tempDir(t, 'kubestrap-golden-');
          seedChecksums(home, VERSION);
          const socket = await startFixedEngine(t, fixed);
          const opts = planOptions(home);
          const params = {
            ...startParams(findDriver(fixed.engine), { containerRuntime: runtime, kubernetesVersion: VERSION, nodes }, {}),
            socket: `unix://${socket}`,
          };
          const { plan, exitCode } = await engine.plan(opts, `driver-${fixed.engine}`, params);
          assert.equal(exitCode, 0, JSON.stringify(plan.steps.filter((s) => s.status === 'failed'), null, 1).slice(0, 3000));
          const text = renderPlanText(plan, style).split(socket).join('/run/engine.sock').split(home).join('$KUBESTRAP_HOME').replace(
            /sha256:[0-9a-f]{64}/g,
            'sha256:<digest>',
          );
          golden(`${fixed.engine}-${runtime}-${nodes}node.plan.txt`, text);
          const sh = renderPlanSh(plan);
          if (hasBinary('shellcheck')) execFileSync('shellcheck', ['-s', 'bash', '-S', 'warning', '-'], { input: sh });
          golden(
            `${fixed.engine}-${runtime}-${nodes}node.plan.sh`,
            sh.split(socket).join('/run/engine.sock').split(home).join('$KUBESTRAP_HOME').replace(/sha256:[0-9a-f]{64}/g, 'sha256:<digest>'),
          );
          // Never a bootstrap token, and the workers' joins are planned with the command as a placeholder.
          const doc = JSON.stringify(plan as PlanDocument);
          assert.doesNotMatch(doc, /--token [a-z0-9]{6}\./);
          assert.equal((text.match(/KUBESTRAP_JOIN_COMMAND/g) ?? []).length, nodes - 1);
        });
      }
    }
  }
});

describe("a node container is planned with its engine's kernel", () => {
  it('on cgroup v1 with one CPU, init skips the checks the run will skip, and preflight says why', async (t) => {
    const home = tempDir(t, 'kubestrap-golden-');
    seedChecksums(home, DEFAULT_KUBERNETES_VERSION);
    const socket = await startFixedEngine(t, { ...DEBIAN_DOCKER, cgroupVersion: '1', cpus: 1, memTotal: 8 * 1024 ** 3 });
    const opts = planOptions(home);
    const params = { ...startParams(findDriver('docker'), { nodes: 2 }, {}), socket: `unix://${socket}` };
    const { plan, exitCode } = await engine.plan(opts, 'driver-docker', params);
    assert.equal(exitCode, 0);
    const init = plan.steps.find((s) => s.id === 'cp.init')?.effects.find((e) => e.kind === 'exec' && / kubeadm init /.test(e.command));
    assert.match((init as { command: string }).command, / kubeadm init --config \S+ --ignore-preflight-errors=NumCPU,Swap,SystemVerification$/);
    const notes = plan.steps.find((s) => s.id === 'cp.preflight')?.notes?.map((n) => n.message) ?? [];
    assert.ok(notes.some((m) => m.startsWith('docker:demo uses cgroup v1, which the kubelet of Kubernetes v1.37')), notes.join('\n'));
    assert.ok(notes.includes('1 CPU: kubeadm asks for at least 2; the control plane will be slow'), notes.join('\n'));
    assert.ok(plan.steps.find((s) => s.id === 'm02.preflight')?.notes?.some((n) => n.message.startsWith('docker:demo-m02 uses cgroup v1')));
  });
});

describe('errors users meet with the container drivers, one line each with the fix', () => {
  it('a host port in use blocks the plan; a daemon that is not running is exit 2', async (t) => {
    const home = tempDir(t, 'kubestrap-golden-');
    seedChecksums(home, VERSION);
    const socket = await startFixedEngine(t, DEBIAN_DOCKER);
    const opts = planOptions(home);
    // The workstation's sshd listens on 0.0.0.0:22.
    const params = { ...startParams(findDriver('docker'), { kubernetesVersion: VERSION, ports: ['127.0.0.1:22:2222'] }, {}), socket: `unix://${socket}` };
    const { plan } = await engine.plan(opts, 'driver-docker', params);
    const blocks = plan.steps.flatMap((s) => (s.notes ?? []).filter((n) => n.blocks).map((n) => `${s.id}: ${n.message} (${n.fix}) [${n.blocks}]`));
    assert.deepEqual(blocks, [
      `cp-node: host port 127.0.0.1:22/tcp is already in use on this machine (choose another host port in --ports, or stop what listens there (ss -ltnp 'sport = :22')) [HOST_PORT_IN_USE]`,
    ]);

    // Where 192.168.49.0/24 is taken, the engine check's forecast and the network step make the same
    // search, with the search settings the start was given.
    const taken = await startFixedEngine(t, { ...DEBIAN_DOCKER, networks: [...DEBIAN_DOCKER.networks, { Name: 'other', Subnet: '192.168.49.0/24' }] });
    const stepped = { ...startParams(findDriver('docker'), { kubernetesVersion: VERSION }, {}), socket: `unix://${taken}`, subnetStep: 5 };
    const search = (await engine.plan(opts, 'driver-docker', stepped)).plan;
    const note = search.steps.find((s) => s.id === 'engine')?.notes?.find((n) => n.message.startsWith('a profile network would get'));
    assert.equal(note?.message, 'a profile network would get 192.168.54.0/24');
    assert.ok(
      search.steps.find((s) => s.id === 'network')?.effects.some((e) =>
        e.kind === 'exec' && e.command.includes(' network create --driver bridge --subnet 192.168.54.0/24 ')
      ),
    );

    const gone = join(home, 'no-such.sock');
    const r = await runCli(['start', '--driver', 'docker', '--dry-run', '--format', 'json'], {
      env: { KUBESTRAP_HOME: home, DOCKER_HOST: `unix://${gone}` },
      cwd: home,
    });
    assert.equal(r.code, 2);
    const failed = (JSON.parse(r.stdout) as PlanDocument).steps.find((s) => s.status === 'failed') as { id: string; error?: string };
    assert.equal(failed.id, 'engine');
    assert.equal(
      failed.error,
      `cannot reach docker at ${gone}: no such socket (start the daemon: sudo systemctl start docker (or set DOCKER_HOST to its socket)) [DOCKER_UNREACHABLE]`,
    );
  });
});

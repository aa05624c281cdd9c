// The container runtimes: their generated files (golden, and accepted by the real tools:
// containerd's config dump, systemd-analyze verify, apt-get, a TOML parser, JSON/jq) and the exact
// effects that install-runtime plans on this machine, through the CLI.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Effect } from '../core/effects.ts';
import type { PlanDocument } from '../core/plan.ts';
import { UserError } from '../core/errors.ts';
import { parseKubernetesVersion, pauseImage } from '../tasks/k8s/versions.ts';
import { type ContainerRuntime, findRuntime, type RuntimeOptions, runtimes } from '../runtimes/index.ts';
import { containerdConfig } from '../runtimes/containerd.ts';
import { CRI_DOCKER_SOCKET_UNIT, CRI_DOCKERD_BIN, CRI_DOCKERD_SHA256, criDockerdUrl, criDockerService, mergeDaemonJson } from '../runtimes/docker.ts';
import { CONTAINERD_RELEASE, containerdSupports, describeMinimums, RUNC_RELEASE } from '../runtimes/containerd-support.ts';
import { CONTAINERD_UNIT } from '../runtimes/containerd.ts';
import { fileMode } from '../runtimes/common.ts';
import { crioDropIn, crioSources } from '../runtimes/crio.ts';
import * as engine from '../core/engine.ts';
import { Events } from '../core/events.ts';
import { builtinTasks } from '../tasks/index.ts';
import { debianWorkstation, FixedHost, type FixedMachine } from './helpers/fixed-host.ts';
import { runCli } from './helpers/cli.ts';
import { missing, repoRoot, tempDir } from './helpers/env.ts';

const OPTS: RuntimeOptions = { cgroupDriver: 'systemd', pauseImage: 'registry.k8s.io/pause:3.10', kubernetesVersion: 'v1.31.0', otherUnits: [] };
const CGROUPFS: RuntimeOptions = { ...OPTS, cgroupDriver: 'cgroupfs' };
const FIXTURES = join(repoRoot, 'test/fixtures/runtimes');
const golden = (runtime: string, name: string) => readFileSync(join(FIXTURES, runtime, name), 'utf8');
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** TOML → JSON through Python's tomllib (3.11+): a real parser, not ours. One process for all files. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
function toml(...files: string[]): Record<string, unknown>[] {
  const py = 'import json, sys, tomllib\nprint(json.dumps([tomllib.load(open(f, "rb")) for f in sys.argv[1:]]))';
  return JSON.parse(execFileSync(PYTHON, ['-c', py, ...files], { encoding: 'utf8' })) as Record<string, unknown>[];
}
const tomlSkip = (() => {
  const m = missing([PYTHON], 'apt-get install python3');
  if (m) return m;
  return spawnSync(PYTHON, ['-c', 'import tomllib']).status === 0 ? undefined : 'python3 has no tomllib (needs Python 3.11+)';
})();

/** Every leaf of a parsed document, as dotted path → value. */
function leaves(v: unknown, prefix: string[] = [], out = new Map<string, unknown>()): Map<string, unknown> {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) leaves(x, [...prefix, k], out);
  } else out.set(JSON.stringify(prefix), v);
  return out;
}

/** The keys of `meant` whose value containerd's effective config does not have (dropped or changed). */
function notInDump(dir: string, content: string): string[] {
  const file = join(dir, `config-${sha(content).slice(0, 8)}.toml`);
  writeFileSync(file, content);
  const dump = join(`${file}.dump`);
  writeFileSync(dump, execFileSync('containerd', ['--config', file, 'config', 'dump'], { encoding: 'utf8' }));
  const [meant, dumped] = toml(file, dump);
  const effective = leaves(dumped);
  return [...leaves(meant)].filter(([k, v]) => JSON.stringify(effective.get(k)) !== JSON.stringify(v)).map(([k]) => JSON.parse(k).join('.'));
}

describe('runtime registry', () => {
  it('finds runtimes by name and alias', () => {
    assert.equal(findRuntime('containerd').name, 'containerd');
    assert.equal(findRuntime('docker').name, 'docker');
    assert.equal(findRuntime('cri-o').name, 'cri-o');
    assert.equal(findRuntime('crio'), findRuntime('cri-o'));
  });

  it('rejects an unknown name with a did-you-mean', () => {
    assert.throws(
      () => findRuntime('containrd'),
      (e: unknown) => e instanceof UserError && e.reason === 'RUNTIME_UNKNOWN' && e.fix === "did you mean 'containerd'?",
    );
    assert.throws(() => findRuntime('podman'), (e: unknown) => e instanceof UserError && /containerd, docker, cri-o/.test(e.fix ?? ''));
  });

  it('declares packages, socket, services and cgroup-driven files for each runtime', () => {
    assert.deepEqual(runtimes.map((r) => [r.name, r.criSocket, r.packages, r.services]), [
      ['containerd', 'unix:///run/containerd/containerd.sock', ['containerd', 'runc'], ['containerd']],
      ['docker', 'unix:///var/run/cri-dockerd.sock', ['docker.io'], ['docker.socket', 'docker', 'cri-docker.socket', 'cri-docker']],
      ['cri-o', 'unix:///var/run/crio/crio.sock', ['cri-o'], ['crio']],
    ]);
  });
});

describe('pause image per Kubernetes version', () => {
  it('follows kubeadm', () => {
    const table: [string, string][] = [
      ['v1.24.17', '3.7'],
      ['v1.25.0', '3.8'],
      ['v1.26.3', '3.9'],
      ['v1.30.6', '3.9'],
      ['v1.31.0', '3.10'],
      ['v1.33.1', '3.10'],
      ['v1.34.0', '3.10.1'],
      ['v1.35.2', '3.10.1'],
    ];
    for (const [v, tag] of table) assert.equal(pauseImage(parseKubernetesVersion(v)), `registry.k8s.io/pause:${tag}`, v);
    // Outside the supported range the version itself is refused, with the one reason every caller gives.
    for (const v of ['v1.23.9', 'v1.40.0']) {
      assert.throws(() => parseKubernetesVersion(v), (e: unknown) => e instanceof UserError && e.reason === 'K8S_VERSION_UNSUPPORTED', v);
    }
  });
});

describe('generated config files', () => {
  const expected: Record<string, Record<string, string>> = {
    containerd: { '/etc/containerd/config.toml': 'config.toml', '/etc/crictl.yaml': 'crictl.yaml' },
    docker: {
      '/etc/docker/daemon.json': 'daemon.json',
      '/etc/systemd/system/cri-docker.socket': 'cri-docker.socket',
      '/etc/systemd/system/cri-docker.service': 'cri-docker.service',
      '/etc/crictl.yaml': 'crictl.yaml',
    },
    'cri-o': { '/etc/crio/crio.conf.d/02-kubestrap.conf': '02-kubestrap.conf', '/etc/crictl.yaml': 'crictl.yaml' },
  };

  for (const r of runtimes) {
    it(`${r.name}: match the golden files and are deterministic`, () => {
      const files = r.configFiles(OPTS);
      assert.deepEqual(files.map((f) => f.path), Object.keys(expected[r.name]!));
      for (const f of files) {
        assert.equal(f.mode, '0644');
        assert.equal(f.content, golden(r.name, expected[r.name]![f.path]!), f.path);
      }
      assert.deepEqual(r.configFiles({ ...OPTS }), files);
    });
  }

  it('cgroupfs changes exactly the cgroup settings', () => {
    const changed = (r: ContainerRuntime) =>
      r.configFiles(OPTS).flatMap((f, i) => {
        const a = f.content.split('\n'), b = r.configFiles(CGROUPFS)[i]!.content.split('\n');
        return a.flatMap((line, n) => (line === b[n] ? [] : [`${line.trim()} → ${b[n]!.trim()}`]));
      });
    assert.deepEqual(changed(findRuntime('containerd')), ['SystemdCgroup = true → SystemdCgroup = false']);
    assert.deepEqual(changed(findRuntime('docker')), ['"native.cgroupdriver=systemd" → "native.cgroupdriver=cgroupfs"']);
    assert.deepEqual(changed(findRuntime('cri-o')), ['cgroup_manager = "systemd" → cgroup_manager = "cgroupfs"']);
  });

  it('refuse values that would need quoting in TOML, JSON or a unit', () => {
    for (const bad of ['registry.k8s.io/pause:3.10" x', 'pause 3.10', '', 'img\n']) {
      assert.throws(() => containerdConfig({ ...OPTS, pauseImage: bad }), (e: unknown) => e instanceof UserError && e.reason === 'RUNTIME_OPTIONS_INVALID');
      assert.throws(() => criDockerService({ ...OPTS, pauseImage: bad }), UserError);
    }
  });

  it('containerd: every key we set is in its effective config (config dump), for both cgroup drivers', {
    skip: missing(['containerd'], 'apt-get install containerd') ?? tomlSkip,
  }, (t) => {
    const dir = tempDir(t);
    assert.deepEqual(notInDump(dir, containerdConfig(OPTS)), []);
    assert.deepEqual(notInDump(dir, containerdConfig(CGROUPFS)), []);
    // The comparison is what catches a misspelled key: containerd itself accepts it silently.
    const typo = containerdConfig(OPTS).replace('sandbox_image =', 'sandbox_imag =');
    assert.deepEqual(notInDump(dir, typo), ['plugins.io.containerd.grpc.v1.cri.sandbox_imag']);
    // The runc options table is passed through unchecked (a typo there survives the dump), so the
    // cgroup key is asserted by name: it is the one setting the kubelet and runc must agree on.
    const options = /\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runc\.options\]\n((?:\s+\w+ = .*\n)+)/.exec(containerdConfig(CGROUPFS))
      ?.[1];
    assert.deepEqual(options?.trim().split('\n').map((l) => l.trim()), ['SystemdCgroup = false']);
  });

  it('docker: cri-dockerd units pass systemd-analyze verify without warnings', { skip: missing(['systemd-analyze'], 'apt-get install systemd') }, (t) => {
    const dir = tempDir(t);
    // verify fails on a missing ExecStart binary: point it at a stand-in executable.
    const bin = join(dir, 'cri-dockerd');
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, 0o755);
    const verify = (service: string): string[] => {
      writeFileSync(join(dir, 'cri-docker.service'), service.replace(CRI_DOCKERD_BIN, bin));
      writeFileSync(join(dir, 'cri-docker.socket'), CRI_DOCKER_SOCKET_UNIT);
      const r = spawnSync('systemd-analyze', ['verify', join(dir, 'cri-docker.service'), join(dir, 'cri-docker.socket')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      // It exits 0 on unknown keys and bad values: the warnings about our files are on stderr.
      return r.stderr.split('\n').filter((l) => l.includes(dir));
    };
    assert.deepEqual(verify(criDockerService(OPTS)), []);
    assert.match(verify(criDockerService(OPTS).replace('TasksMax=', 'TaskMax=')).join('\n'), /Unknown key 'TaskMax'/);
  });

  it('docker: daemon.json is JSON that sets the cgroup driver', { skip: missing(['jq'], 'apt-get install jq') }, () => {
    for (const o of [OPTS, CGROUPFS]) {
      const text = findRuntime('docker').configFiles(o).find((f) => f.path === '/etc/docker/daemon.json')!.content;
      const r = spawnSync('jq', ['-e', '."exec-opts" == ["native.cgroupdriver=" + $d] and ."log-driver" == "json-file"', '--arg', 'd', o.cgroupDriver], {
        input: text,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    }
  });

  it('cri-o: the drop-in parses as TOML with the meant values', { skip: tomlSkip }, (t) => {
    const file = join(tempDir(t), '02-kubestrap.conf');
    writeFileSync(file, crioDropIn(CGROUPFS));
    assert.deepEqual(toml(file)[0], {
      crio: {
        image: { pause_image: 'registry.k8s.io/pause:3.10' },
        runtime: { cgroup_manager: 'cgroupfs', conmon_cgroup: 'pod', default_sysctls: ['net.ipv4.ip_unprivileged_port_start=0'] },
        network: { network_dir: '/etc/cni/net.d', plugin_dirs: ['/opt/cni/bin'] },
      },
    });
  });

  it('cri-o: the apt source is read by apt-get and names the stream of the Kubernetes minor', { skip: missing(['apt-get'], 'a Debian system') }, (t) => {
    const dir = tempDir(t);
    assert.equal(crioSources(OPTS), golden('cri-o', 'cri-o.list'));
    writeFileSync(join(dir, 'cri-o.list'), crioSources({ ...OPTS, kubernetesVersion: 'v1.32.4' }));
    mkdirSync(join(dir, 'lists/partial'), { recursive: true });
    // --print-uris parses the list and prints what it would fetch, without fetching.
    const out = execFileSync('apt-get', [
      '-o',
      `Dir::Etc::SourceList=${join(dir, 'cri-o.list')}`,
      '-o',
      `Dir::Etc::SourceParts=${join(dir, 'none')}`,
      '-o',
      `Dir::State::Lists=${join(dir, 'lists')}`,
      '--print-uris',
      'update',
    ], { encoding: 'utf8' });
    assert.match(out, /^'https:\/\/download\.opensuse\.org\/repositories\/isv:\/cri-o:\/stable:\/v1\.32\/deb\/InRelease' /m);
    assert.throws(() => crioSources({ ...OPTS, kubernetesVersion: 'v1.27.3' }), (e: unknown) => e instanceof UserError && e.reason === 'RUNTIME_UNSUPPORTED');
  });
});

// ——— install-runtime, planned against machines with fixed facts ———

/** One line per mutating effect, in plan order. */
function lines(effects: Effect[]): string[] {
  return effects.flatMap((e): string[] => {
    switch (e.kind) {
      case 'service':
        return [`service ${e.action} ${e.name}`];
      case 'package':
        return [`package ${e.action} ${e.names.join(' ')}`];
      case 'exec':
        return [`exec${e.sudo ? ' sudo' : ''} ${e.command}`];
      case 'download':
        return e.cached ? [] : [`download ${e.url} ${e.sha256 ?? '-'}`];
      case 'write':
        return e.unchanged ? [] : [`write ${e.path} ${e.mode}${e.sudo ? ' sudo' : ''}`];
      default:
        return [];
    }
  });
}

/** The probes a runtime's check makes, answered: these units active and enabled, these packages (and their binaries) installed. */
function machineWith(
  o: {
    running?: string[];
    installed?: Record<string, string>;
    binaries?: FixedMachine['binaries'];
    files?: Record<string, string>;
    available?: FixedMachine['available'];
  } = {},
): FixedMachine {
  const base = debianWorkstation();
  const answers: Record<string, string> = { ...base.answers };
  for (const u of o.running ?? []) {
    answers[`systemctl is-active --quiet ${u}`] = '';
    answers[`systemctl is-enabled --quiet ${u}`] = '';
  }
  for (const path of Object.keys(o.files ?? {})) answers[fileMode(path).command] = '644\n';
  return {
    ...base,
    answers,
    files: { ...base.files, ...o.files },
    installed: o.installed ?? {},
    binaries: o.binaries ?? {},
    available: { ...base.available, ...o.available },
  };
}

/** Debian 12's containerd and runc as dpkg and their binaries report them. */
const DEBIAN_CONTAINERD = {
  installed: { containerd: '1.6.20~ds1-1+deb12u3', runc: '1.1.5+ds1-1+deb12u1' },
  binaries: {
    containerd: { path: '/usr/bin/containerd', owner: 'containerd', versionLine: 'containerd github.com/containerd/containerd 1.6.20~ds1' },
    runc: { path: '/usr/sbin/runc', owner: 'runc', versionLine: 'runc version 1.1.5+ds1' },
  },
};

/** Unreachable (connection refused at once): the release checksums become placeholders in the plan. */
const MIRROR = 'http://127.0.0.1:9';

async function planOn(t: { after(fn: () => void): void }, m: FixedMachine, withParams: Record<string, unknown>): Promise<PlanDocument> {
  const home = tempDir(t);
  writeFileSync(join(home, 'r.yaml'), `name: runtime-plan\nsteps:\n  - id: runtime\n    task: install-runtime\n    with: ${JSON.stringify(withParams)}\n`);
  const { plan: doc, exitCode } = await engine.plan(
    {
      env: { KUBESTRAP_HOME: home },
      cwd: home,
      recipeDirs: [],
      builtinTasks,
      taskFiles: [],
      profile: 'p',
      concurrency: 1,
      events: new Events(),
      signal: new AbortController().signal,
      localHost: new FixedHost(m),
    },
    join(home, 'r.yaml'),
    {},
  );
  assert.equal(exitCode, 0, JSON.stringify(doc.steps.map((s) => s.error)));
  return doc;
}

async function plan(t: { after(fn: () => void): void }, withParams: string): Promise<{ code: number; stderr: string; plan?: PlanDocument }> {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'r.yaml'),
    `name: runtime-plan
steps:
  - id: runtime
    task: install-runtime
    with: ${withParams}
  - id: after
    task: write-file
    needs: [runtime]
    with:
      path: ${dir}/outputs.txt
      content: "\${{ steps.runtime.outputs.runtime }} \${{ steps.runtime.outputs.criSocket }} \${{ steps.runtime.outputs.cgroupDriver }} \${{ steps.runtime.outputs.pauseImage }}"
`,
  );
  const r = await runCli(['plan', join(dir, 'r.yaml'), '--format', 'json'], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
  // A step that fails still leaves the plan document on stdout; a bad recipe leaves none.
  let doc: PlanDocument | undefined;
  try {
    doc = JSON.parse(r.stdout) as PlanDocument;
  } catch {
    doc = undefined;
  }
  return { code: r.code, stderr: r.stderr, ...(doc ? { plan: doc } : {}) };
}

describe('install-runtime plan (fixed machines)', () => {
  // Debian 12's containerd 1.6.20 is enough for 1.28 (1.6.15+), too old for 1.31 (1.6.34+).
  const v = { kubernetesVersion: 'v1.28.15' };
  const o28 = { ...OPTS, ...v, pauseImage: pauseImage(parseKubernetesVersion(v.kubernetesVersion)), otherUnits: [] };
  const writes = (runtime: string, o: RuntimeOptions = o28) => findRuntime(runtime).configFiles(o).map((f) => `write ${f.path} 0644 sudo`);

  it("containerd on a fresh machine where the distribution's is recent enough: one transaction, files, then its unit", async (t) => {
    const p = await planOn(t, machineWith(), { runtime: 'containerd', ...v });
    assert.deepEqual(lines(p.steps[0]!.effects), [
      'package install containerd runc',
      ...writes('containerd'),
      'service enable containerd',
      'service restart containerd',
    ]);
    const pkg = p.steps[0]!.effects.find((e) => e.kind === 'package');
    assert.deepEqual(pkg?.kind === 'package' && pkg.transaction, {
      install: [{ name: 'containerd', version: '1.6.20~ds1-1+deb12u3' }, { name: 'runc', version: '1.1.5+ds1-1+deb12u1' }],
      upgrade: [],
      downgrade: [],
      remove: [],
    });
    // Files carry their whole planned content.
    for (const f of findRuntime('containerd').configFiles(o28)) {
      const w = p.steps[0]!.effects.find((e) => e.kind === 'write' && e.path === f.path);
      assert.equal(w?.kind === 'write' && w.content, f.content, f.path);
    }
  });

  it("containerd where the distribution's is too old (v1.31 needs 1.6.34+): containerd's release and runc, checksummed, with its own unit", async (t) => {
    const v31 = { kubernetesVersion: 'v1.31.2' };
    const p = await planOn(t, machineWith(DEBIAN_CONTAINERD), {
      runtime: 'containerd',
      ...v31,
      containerdMirror: `${MIRROR}/containerd`,
      runcMirror: `${MIRROR}/runc`,
    });
    const name = `containerd-${CONTAINERD_RELEASE}-linux-amd64.tar.gz`;
    const archive = `/var/cache/kubestrap/${name}`;
    const pending = (what: string) => `<output of fetch of ${what}>`;
    assert.deepEqual(lines(p.steps[0]!.effects), [
      `download ${MIRROR}/containerd/v${CONTAINERD_RELEASE}/${name}.sha256sum -`,
      `download ${MIRROR}/runc/v${RUNC_RELEASE}/runc.sha256sum -`,
      `download ${MIRROR}/containerd/v${CONTAINERD_RELEASE}/${name} ${pending(`${name}.sha256sum`)}`,
      `write ${archive} 0644 sudo`,
      `exec sudo tar -xzf ${archive} -C /usr/local/bin --strip-components=1 --no-same-owner bin/containerd bin/containerd-shim-runc-v2 bin/ctr`,
      'exec sudo chmod 0755 /usr/local/bin/containerd /usr/local/bin/containerd-shim-runc-v2 /usr/local/bin/ctr',
      `download ${MIRROR}/runc/v${RUNC_RELEASE}/runc.amd64 ${pending('runc.sha256sum')}`,
      'write /usr/local/sbin/runc 0755 sudo',
      'write /etc/systemd/system/containerd.service 0644 sudo',
      ...writes('containerd', { ...o28, ...v31 }),
      'service daemon-reload systemd',
      'service enable containerd',
      'service restart containerd',
    ]);
    const unit = p.steps[0]!.effects.find((e) => e.kind === 'write' && e.path === '/etc/systemd/system/containerd.service');
    assert.equal(unit?.kind === 'write' && unit.content, CONTAINERD_UNIT);
    assert.ok(
      p.steps[0]!.notes?.some((n) =>
        n.message.startsWith(
          'containerd 1.6.20 (/usr/bin/containerd, package containerd) is too old: Kubernetes v1.31.2 needs containerd 1.6.34+, 1.7.20+ or 2.0.0+.',
        )
      ),
    );
  });

  it("containerd.io's containerd is used as it is: no package transaction, no download", async (t) => {
    const p = await planOn(
      t,
      machineWith({
        installed: { 'containerd.io': '1.7.25-1' },
        binaries: {
          containerd: {
            path: '/usr/bin/containerd',
            owner: 'containerd.io',
            versionLine: 'containerd containerd.io 1.7.25 bcc810d6b9066471b0b6fa75f557a15a1cbf31bb',
          },
          runc: { path: '/usr/bin/runc', owner: 'containerd.io', versionLine: 'runc version 1.2.5' },
        },
      }),
      { runtime: 'containerd', kubernetesVersion: 'v1.31.2' },
    );
    assert.deepEqual(lines(p.steps[0]!.effects), [
      ...writes('containerd', { ...o28, kubernetesVersion: 'v1.31.2' }),
      'service enable containerd',
      'service restart containerd',
    ]);
    assert.deepEqual(p.steps[0]!.notes?.map((n) => n.message), [
      'uses the containerd 1.7.25 this machine has (/usr/bin/containerd, package containerd.io): kubestrap does not replace it',
    ]);
  });

  it("containerd where docker runs: docker's units stopped and disabled first, sockets first", async (t) => {
    const running = ['docker.socket', 'docker', 'cri-docker.socket', 'cri-docker', 'containerd'];
    const p = await planOn(
      t,
      machineWith({ running, installed: { ...DEBIAN_CONTAINERD.installed, 'docker.io': '20.10.24+dfsg1-1+deb12u1+b6' }, binaries: DEBIAN_CONTAINERD.binaries }),
      { runtime: 'containerd', ...v },
    );
    assert.deepEqual(lines(p.steps[0]!.effects), [
      'service stop docker.socket',
      'service disable docker.socket',
      'service stop cri-docker.socket',
      'service disable cri-docker.socket',
      'service stop docker',
      'service disable docker',
      'service stop cri-docker',
      'service disable cri-docker',
      ...writes('containerd'),
      'service restart containerd',
    ]);
  });

  it("docker: leaves the system containerd running, and fetches the pinned cri-dockerd release for the node's architecture", async (t) => {
    const p = await planOn(t, machineWith({ running: ['containerd', 'crio'] }), { runtime: 'docker', kubernetesVersion: 'v1.34.0' });
    const url = criDockerdUrl('amd64');
    const archive = `/var/cache/kubestrap/${url.split('/').pop()}`;
    assert.deepEqual(lines(p.steps[0]!.effects), [
      'service stop crio',
      'service disable crio',
      'package install docker.io',
      `download ${url} ${CRI_DOCKERD_SHA256.amd64}`,
      `write ${archive} 0644 sudo`,
      `exec sudo tar -xzf ${archive} -C /usr/local/bin --strip-components=1 --no-same-owner cri-dockerd/cri-dockerd`,
      `exec sudo chmod 0755 ${CRI_DOCKERD_BIN}`,
      ...writes('docker'),
      'service daemon-reload systemd',
      // Sockets start before their services; a changed file restarts what it feeds.
      'service enable docker.socket',
      'service start docker.socket',
      'service enable docker',
      'service restart docker',
      'service enable cri-docker.socket',
      'service restart cri-docker.socket',
      'service enable cri-docker',
      'service restart cri-docker',
    ]);
    const unit = p.steps[0]!.effects.find((e) => e.kind === 'write' && e.path === '/etc/systemd/system/cri-docker.service');
    assert.match(unit?.kind === 'write' ? unit.content ?? '' : '', /--pod-infra-container-image=registry\.k8s\.io\/pause:3\.10\.1 /);
    // An arm64 machine gets the arm64 archive.
    const arm = await planOn(t, { ...machineWith(), answers: { ...machineWith().answers, 'uname -m': 'aarch64\n' } }, {
      runtime: 'docker',
      kubernetesVersion: 'v1.34.0',
    });
    assert.ok(lines(arm.steps[0]!.effects).includes(`download ${criDockerdUrl('arm64')} ${CRI_DOCKERD_SHA256.arm64}`));
  });

  it('docker: a docker-ce the machine has is used, and its daemon.json merged into', async (t) => {
    const user = '{\n  "data-root": "/srv/docker"\n}\n';
    const p = await planOn(
      t,
      machineWith({
        installed: { 'docker-ce': '5:27.5.1-1~debian.12~bookworm', 'containerd.io': '1.7.25-1' },
        binaries: { dockerd: { path: '/usr/bin/dockerd', owner: 'docker-ce', versionLine: 'Docker version 27.5.1, build 4c9b3b0' } },
        files: { '/etc/docker/daemon.json': user },
      }),
      { runtime: 'docker', kubernetesVersion: 'v1.34.0' },
    );
    assert.equal(lines(p.steps[0]!.effects).some((l) => l.startsWith('package ')), false);
    const w = p.steps[0]!.effects.find((e) => e.kind === 'write' && e.path === '/etc/docker/daemon.json');
    assert.equal(w?.kind === 'write' && w.content, mergeDaemonJson(user, OPTS).content);
    assert.equal(w?.kind === 'write' && w.exists, true);
  });

  it('cri-o on a fresh machine: its apt repository for the Kubernetes minor first', async (t) => {
    const p = await planOn(t, machineWith(), { runtime: 'cri-o', cgroupDriver: 'cgroupfs', ...v });
    assert.deepEqual(lines(p.steps[0]!.effects), [
      'download https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v1.28/deb/Release.key -',
      'write /etc/apt/keyrings/cri-o-apt-keyring.asc 0644 sudo',
      'write /etc/apt/sources.list.d/cri-o.list 0644 sudo',
      'exec sudo apt-get update',
      'package install cri-o',
      ...writes('cri-o'),
      'service enable crio',
      'service restart crio',
    ]);
  });

  it('a machine already set up: nothing to do, the step is ok', async (t) => {
    const files = Object.fromEntries(findRuntime('containerd').configFiles(o28).map((f) => [f.path, f.content]));
    const p = await planOn(t, machineWith({ running: ['containerd'], ...DEBIAN_CONTAINERD, files }), { runtime: 'containerd', ...v });
    assert.deepEqual(lines(p.steps[0]!.effects), []);
    assert.equal(p.steps[0]!.status, 'ok');
  });

  it('rejects bad input with the reason and the fix (exit 2)', async (t) => {
    const cases: [string, RegExp][] = [
      // The same checks, messages and reasons as --container-runtime and --kubernetes-version.
      ['{ runtime: crio-o, kubernetesVersion: v1.31.0 }', /unknown container runtime 'crio-o' \(did you mean 'cri-o'\?\) \[RUNTIME_UNKNOWN\]/],
      ['{ runtime: containerd, kubernetesVersion: v1.31 }', /"v1\.31" is not a Kubernetes release version.*K8S_VERSION_INVALID/],
      ['{ runtime: containerd, kubernetesVersion: v1.23.0 }', /v1\.23 is not supported.*K8S_VERSION_UNSUPPORTED/],
      ['{ runtime: cri-o, kubernetesVersion: v1.27.0 }', /streams start at v1\.28.*RUNTIME_UNSUPPORTED/],
      ['{ runtime: docker, kubernetesVersion: v1.31.0, criDockerdUrl: "https://example.org/c.tgz" }', /needs a sha256 checksum.*CHECKSUM_MISSING/],
      ['{ runtime: docker, kubernetesVersion: v1.31.0, criDockerdSha256: abc }', /criDockerdSha256.*must match/],
    ];
    for (const [params, message] of cases) {
      const r = await plan(t, params);
      assert.equal(r.code, 2, `${params}: ${r.stderr}`);
      const text = r.stderr + JSON.stringify(r.plan?.steps.map((s) => s.error) ?? []);
      assert.match(text, message, params);
    }
  });
});

describe('containerd against the Kubernetes version (containerd RELEASES.md)', () => {
  it('accepts the supported lines and patches, refuses older ones', () => {
    const table: [version: string, minor: number, ok: boolean][] = [
      // Debian 12's containerd: enough for 1.26–1.28 only.
      ['1.6.20', 28, true],
      ['1.6.20', 29, false],
      ['1.6.20', 31, false],
      ['1.6.20', 35, false],
      ['1.6.36', 31, true],
      ['1.6.39', 32, false],
      ['1.7.24', 32, true],
      ['1.7.24', 34, true],
      ['1.7.27', 35, false],
      ['1.7.28', 35, true],
      ['2.0.4', 33, true],
      ['2.0.7', 35, false],
      ['2.1.4', 35, false],
      ['2.1.5', 35, true],
      ['2.2.3', 35, true],
      ['2.2.3', 31, true],
      ['2.3.0', 36, true],
      // From 1.36 containerd lists only its 2.x lines: 1.7 is no longer recommended.
      ['1.7.30', 36, false],
      ['2.1.9', 37, false],
      ['2.2.0', 37, true],
      ['2.3.4', 37, true],
      ['2.4.0', 37, true],
      ['1.5.18', 24, false],
    ];
    for (const [v, minor, ok] of table) assert.equal(containerdSupports(v, minor), ok, `containerd ${v} for Kubernetes 1.${minor}`);
    assert.equal(describeMinimums(35), '1.7.28+, 2.1.5+ or 2.2.0+');
    assert.equal(describeMinimums(37), '2.2.0+ or 2.3.0+');
    assert.equal(describeMinimums(31), '1.6.34+, 1.7.20+ or 2.0.0+');
    // The release kubestrap installs runs every minor it supports.
    for (let minor = 24; minor <= 37; minor++) assert.ok(containerdSupports(CONTAINERD_RELEASE, minor), `1.${minor}`);
  });
});

describe("daemon.json merged into the user's", () => {
  const diff = (a: string, b: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-daemon-'));
    try {
      writeFileSync(join(dir, 'a'), a);
      writeFileSync(join(dir, 'b'), b);
      return spawnSync('diff', ['-u', '--label', 'before', '--label', 'after', join(dir, 'a'), join(dir, 'b')], { encoding: 'utf8' }).stdout;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("keeps the user's data-root and adds exactly our keys", () => {
    const user = '{\n    "data-root": "/srv/docker",\n    "registry-mirrors": ["https://mirror.example"]\n}\n';
    const m = mergeDaemonJson(user, OPTS);
    assert.deepEqual([m.conflicts, m.kept, m.invalid], [[], [], undefined]);
    assert.equal(
      diff(user, m.content),
      `--- before
+++ after
@@ -1,4 +1,11 @@
 {
     "data-root": "/srv/docker",
-    "registry-mirrors": ["https://mirror.example"]
+    "registry-mirrors": ["https://mirror.example"],
+    "exec-opts": [
+        "native.cgroupdriver=systemd"
+    ],
+    "log-driver": "json-file",
+    "log-opts": {
+        "max-size": "100m"
+    }
 }
`,
    );
  });

  it("adds the cgroup driver to the user's own exec-opts", () => {
    const m = mergeDaemonJson('{"exec-opts":["native.umask=normal"],"log-driver":"json-file","log-opts":{"max-size":"100m"}}', OPTS);
    assert.equal(
      m.content,
      '{\n  "exec-opts": [\n    "native.umask=normal",\n    "native.cgroupdriver=systemd"\n  ],\n  "log-driver": "json-file",\n  "log-opts": {\n    "max-size": "100m"\n  }\n}\n',
    );
  });

  it('changes nothing in a file that already has what the kubelet needs, and keeps a different max-size', () => {
    const user =
      '{\n  "data-root": "/srv/docker",\n  "exec-opts": ["native.cgroupdriver=systemd"],\n  "log-driver": "json-file",\n  "log-opts": { "max-size": "10m" }\n}\n';
    const m = mergeDaemonJson(user, OPTS);
    assert.equal(m.content, user);
    assert.deepEqual(m.kept, ['"log-opts"."max-size" "10m"']);
  });

  it('refuses to overwrite a conflicting value, and leaves a broken file alone', () => {
    const user = '{ "exec-opts": ["native.cgroupdriver=cgroupfs", "native.umask=normal"], "log-driver": "journald" }';
    const m = mergeDaemonJson(user, OPTS);
    assert.deepEqual(m.conflicts, [
      '"exec-opts" has native.cgroupdriver=cgroupfs, but the kubelet uses native.cgroupdriver=systemd',
      '"log-driver" is "journald", but kubectl logs needs "json-file" through cri-dockerd',
    ]);
    const parsed = JSON.parse(m.content) as Record<string, unknown>;
    assert.deepEqual([parsed['exec-opts'], parsed['log-driver']], [['native.cgroupdriver=cgroupfs', 'native.umask=normal'], 'journald']);
    assert.equal(mergeDaemonJson('{ "data-root": ', OPTS).content, '{ "data-root": ');
    assert.ok(mergeDaemonJson('{ "data-root": ', OPTS).invalid);
    assert.ok(mergeDaemonJson('[1]', OPTS).invalid);
    assert.equal(mergeDaemonJson(null, OPTS).content, golden('docker', 'daemon.json'));
  });
});

// Package transactions: the simulations' answers read into what is installed, upgraded, downgraded
// and removed (apt's is also read from real apt-get in test/e2e/packages-node.test.ts; the others'
// outputs below are in each manager's documented format), Debian's version order, the commands.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareDebianVersions, packagesCommand, packageStateCommand, parsePackageState, parseSimulation, simulateCommand } from '../../core/packages.ts';
import { Expectation } from '../../core/expectation.ts';
import type { PackageEffect } from '../../core/effects.ts';
import { runCli } from '../helpers/cli.ts';
import { hasBinary, isRoot, tempDir } from '../helpers/env.ts';

describe('simulations read into a transaction', () => {
  it('apt: Inst, Inst over an older or newer version, Remv', () => {
    const out = [
      'NOTE: This is only a simulation!',
      'Remv docker-ce [5:27.5.1-1~debian.12~bookworm]',
      'Remv containerd.io [1.7.25-1]',
      'Inst runc (1.1.5+ds1-1+deb12u1 Debian:12.15/oldstable [amd64])',
      'Inst containerd (1.6.20~ds1-1+deb12u3 Debian:12.15/oldstable [amd64])',
      'Inst libc6 [2.36-9+deb12u9] (2.36-9+deb12u13 Debian:12.15/oldstable [amd64])',
      'Inst containerd.io [1.7.25-1] (1.6.33-1 Docker:stable [amd64])',
      'Conf runc (1.1.5+ds1-1+deb12u1 Debian:12.15/oldstable [amd64])',
    ].join('\n');
    assert.deepEqual(parseSimulation('apt', 'install', out), {
      install: [{ name: 'runc', version: '1.1.5+ds1-1+deb12u1' }, { name: 'containerd', version: '1.6.20~ds1-1+deb12u3' }],
      upgrade: [{ name: 'libc6', version: '2.36-9+deb12u13', from: '2.36-9+deb12u9' }],
      downgrade: [{ name: 'containerd.io', version: '1.6.33-1', from: '1.7.25-1' }],
      remove: [{ name: 'docker-ce', version: '5:27.5.1-1~debian.12~bookworm' }, { name: 'containerd.io', version: '1.7.25-1' }],
    });
  });

  it('dnf: the transaction table, dependent removals included', () => {
    const out = `Dependencies resolved.
================================================================================
 Package              Arch     Version                Repository           Size
================================================================================
Installing:
 containerd           x86_64   1.7.27-1.fc41          updates              38 M
Installing dependencies:
 runc                 x86_64   2:1.2.5-1.fc41         updates             3.6 M
Downgrading:
 libseccomp           x86_64   2.5.4-1.fc41           fedora               70 k
Removing dependent packages:
 docker-ce            x86_64   3:27.5.1-1.fc41        @docker-ce-stable    96 M
Removing:
 containerd.io        x86_64   1.7.25-3.1.fc41        @docker-ce-stable   135 M

Transaction Summary
================================================================================
Install    2 Packages
Remove     2 Packages
Downgrade  1 Package

Operation aborted.
`;
    assert.deepEqual(parseSimulation('dnf', 'install', out), {
      install: [{ name: 'containerd', version: '1.7.27-1.fc41' }, { name: 'runc', version: '2:1.2.5-1.fc41' }],
      upgrade: [],
      downgrade: [{ name: 'libseccomp', version: '2.5.4-1.fc41' }],
      remove: [{ name: 'docker-ce', version: '3:27.5.1-1.fc41' }, { name: 'containerd.io', version: '1.7.25-3.1.fc41' }],
    });
  });

  it('zypper --dry-run: the NEW, upgraded and REMOVED lists', () => {
    const out = `Loading repository data...
Reading installed packages...
Resolving package dependencies...

The following 2 NEW packages are going to be installed:
  containerd runc

The following package is going to be REMOVED:
  docker

2 new packages to install, 1 to remove.
`;
    assert.deepEqual(parseSimulation('zypper', 'install', out), {
      install: [{ name: 'containerd', version: '' }, { name: 'runc', version: '' }],
      upgrade: [],
      downgrade: [],
      remove: [{ name: 'docker', version: '' }],
    });
  });

  it('apk --simulate and pacman --print', () => {
    const apk =
      '(1/3) Installing runc (1.2.5-r0)\n(2/3) Upgrading containerd (1.7.20-r0 -> 1.7.27-r0)\n(3/3) Purging docker (27.3.1-r0)\nOK: 120 MiB in 80 packages\n';
    assert.deepEqual(parseSimulation('apk', 'install', apk), {
      install: [{ name: 'runc', version: '1.2.5-r0' }],
      upgrade: [{ name: 'containerd', version: '1.7.27-r0', from: '1.7.20-r0' }],
      downgrade: [],
      remove: [{ name: 'docker', version: '27.3.1-r0' }],
    });
    const pacman = 'containerd 2.0.4-1\nrunc 1.2.6-1\n';
    assert.deepEqual(parseSimulation('pacman', 'install', pacman, new Map([['runc', '1.2.5-1']])), {
      install: [{ name: 'containerd', version: '2.0.4-1' }],
      upgrade: [{ name: 'runc', version: '1.2.6-1', from: '1.2.5-1' }],
      downgrade: [],
      remove: [],
    });
  });
});

describe("Debian's version order", () => {
  it('agrees with dpkg --compare-versions', (t) => {
    const pairs: [string, string][] = [
      ['1.6.20~ds1-1+deb12u3', '1.7.25-1'],
      ['5:27.5.1-1~debian.12~bookworm', '20.10.24+dfsg1-1+deb12u1+b6'],
      ['1.0~rc1', '1.0'],
      ['1.0', '1.0-0'],
      ['2.36-9+deb12u9', '2.36-9+deb12u13'],
      ['1:1.4.7-1+b2', '1.4.8'],
      ['1.2a', '1.2'],
      ['1.2.3', '1.2.3'],
      ['0.19.0-1', '0.19.0-1.1'],
    ];
    for (const [a, b] of pairs) {
      const ours = Math.sign(compareDebianVersions(a, b));
      if (!hasBinary('dpkg')) {
        t.diagnostic('dpkg missing: compared with the expected table only');
        continue;
      }
      const lt = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
      const eq = spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0;
      assert.equal(ours, lt ? -1 : eq ? 0 : 1, `${a} vs ${b}`);
    }
    assert.equal(compareDebianVersions('1.6.20~ds1-1', '1.7.25-1'), -1);
  });
});

describe('the commands', () => {
  it('apt refuses removals unless the plan allowed them; names come after --', () => {
    const e = { manager: 'apt' as const, action: 'install' as const, names: ['containerd', 'runc'] };
    assert.equal(packagesCommand(e).text, 'env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-remove -- containerd runc');
    assert.equal(
      packagesCommand({ ...e, allowRemovals: true }).text,
      'env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -- containerd runc',
    );
    assert.match(
      simulateCommand('apt', 'install', ['containerd']).text,
      /^sh -c 'export LC_ALL=C\n[^']*' apt-get -s install --no-install-recommends -- containerd$/,
    );
    assert.equal(packagesCommand({ manager: 'dnf', action: 'install', names: ['containerd'] }).text, 'dnf install -y containerd');
    assert.equal(
      packagesCommand({ manager: 'dnf', action: 'install', names: ['containerd'], allowRemovals: true }).text,
      'dnf install -y --allowerasing containerd',
    );
  });

  it("apt's simulation, run against this machine, answers as plain apt-get -s does, twice", (t) => {
    if (!hasBinary('apt-get')) {
      t.skip('not a Debian system');
      return;
    }
    const home = join(tempDir(t), 'home');
    const names = ['conntrack', 'hello', 'dpkg'];
    const plain = spawnSync('apt-get', ['-s', 'install', '--no-install-recommends', '--', ...names], {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
    });
    const ours = () =>
      spawnSync('sh', ['-c', simulateCommand('apt', 'install', names).text], { encoding: 'utf8', env: { ...process.env, KUBESTRAP_HOME: home } });
    for (const r of [ours(), ours()]) assert.deepEqual([r.status, r.stdout], [plain.status, plain.stdout]);
    // Only where the system keeps no cache of its own does the simulation keep one under the home.
    const systemCache = spawnSync('apt-config', ['shell', 'c', 'Dir::Cache::pkgcache'], { encoding: 'utf8' }).stdout.trim();
    assert.equal(existsSync(join(home, 'cache', 'apt', 'pkgcache.bin')), systemCache === "c=''", systemCache);
  });

  it("apt's answer comes from the cache while apt's and dpkg's state is unchanged, and from apt once dpkg's status changes", (t) => {
    if (!hasBinary('apt-get') || !hasBinary('unshare') || !isRoot) {
      t.skip('needs a Debian system, unshare and root (a private mount namespace)');
      return;
    }
    const dir = tempDir(t);
    const home = join(dir, 'home');
    const names = ['socat'];
    const script = simulateCommand('apt', 'install', names).text;
    const env = { ...process.env, KUBESTRAP_HOME: home, LC_ALL: 'C' };
    const plainArgs = ['-s', 'install', '--no-install-recommends', '--', ...names];
    const first = spawnSync('sh', ['-c', script], { encoding: 'utf8', env });
    assert.equal(first.status, 0, first.stderr);
    const answers = join(home, 'cache', 'apt', 'answers');
    assert.equal(readdirSync(answers).length, 1, 'the answer is kept');
    assert.equal(spawnSync('sh', ['-c', script], { encoding: 'utf8', env }).stdout, first.stdout);
    assert.equal(readdirSync(answers).length, 1, 'the same state answers from the cache');

    // The same machine with socat recorded as installed in an old version, in dpkg's status file
    // seen only inside a private mount namespace: the host's file is not touched.
    const status = join(dir, 'status');
    const stanzas = readFileSync('/var/lib/dpkg/status', 'utf8').split(/\n\n+/).filter((st) => st.trim() && !/^Package: socat$/m.test(st));
    writeFileSync(
      status,
      [...stanzas, 'Package: socat\nStatus: install ok installed\nPriority: optional\nVersion: 0.0.1~kubestrap\nArchitecture: amd64\nDescription: test\n'].join(
        '\n\n',
      ),
    );
    const inside = (cmd: string) =>
      spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind "$0" /var/lib/dpkg/status && ${cmd}`, status], {
        encoding: 'utf8',
        env,
      });
    const changed = inside(script);
    const plainChanged = inside(`apt-get ${plainArgs.join(' ')}`);
    assert.equal(changed.status, 0, changed.stderr);
    assert.match(plainChanged.stdout, /Inst socat \[0\.0\.1~kubestrap\]/, 'apt sees the changed status');
    assert.equal(changed.stdout, plainChanged.stdout, 'a changed status is a new question for apt, not a cached answer');
    assert.equal(readdirSync(answers).length, 2);
    assert.equal(spawnSync('sh', ['-c', script], { encoding: 'utf8', env }).stdout, first.stdout, "outside, the host's answer again");
  });

  it('the package-state probe, run by sh against this machine', (t) => {
    if (!hasBinary('dpkg-query')) {
      t.skip('not a Debian system');
      return;
    }
    const dir = tempDir(t);
    const script = join(dir, 'state.sh');
    writeFileSync(script, packageStateCommand(['dpkg', 'no-such-package-kubestrap']).text);
    const r = spawnSync('sh', [script], { encoding: 'utf8' });
    const state = parsePackageState(r.stdout);
    const version = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'dpkg'], { encoding: 'utf8' }).stdout;
    assert.deepEqual(state && { manager: state.manager, installed: [...state.installed] }, { manager: 'apt', installed: [['dpkg', version]] });
  });

  it('a package name that would be an option is refused (exit 2)', async (t) => {
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'r.yaml'),
      'name: bad-package\nsteps:\n  - id: p\n    task: install-packages\n    with: { names: ["-oDpkg::Pre-Invoke::=touch /tmp/x"] }\n',
    );
    const r = await runCli(['plan', join(dir, 'r.yaml')], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr + r.stdout, /package name .* is not valid.*NAME_INVALID/);
  });
});

describe('a run may not take away more than the audited plan listed', () => {
  const planned: PackageEffect = {
    kind: 'package',
    host: 'local',
    names: ['containerd'],
    action: 'install',
    manager: 'apt',
    sudo: true,
    allowRemovals: true,
    transaction: { install: [{ name: 'containerd', version: '1.6.20' }], upgrade: [], downgrade: [], remove: [{ name: 'containerd.io', version: '1.7.25-1' }] },
  };
  it('same removals pass; a new one is drift', () => {
    new Expectation([planned]).match('pkgs', { ...planned });
    const more: PackageEffect = {
      ...planned,
      transaction: { ...planned.transaction!, remove: [...planned.transaction!.remove, { name: 'docker-ce', version: '5:27.5.1-1' }] },
    };
    assert.throws(() => new Expectation([planned]).match('pkgs', more), /PLAN|audited plan did not list/);
  });
});

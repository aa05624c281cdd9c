// The none and ssh drivers: driver registry and selection, the Kubernetes configuration they
// generate, and golden plans for every driver × runtime, made against a host with fixed facts
// (test/helpers/fixed-host.ts) so they are the same on every machine.
// Regenerate the goldens with UPDATE_GOLDEN=1 and review the diff by eye.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../core/context.ts';
import { UserError } from '../core/errors.ts';
import * as engine from '../core/engine.ts';
import type { Host } from '../core/hosts/host.ts';
import type { PlanDocument } from '../core/plan.ts';
import { renderPlanSh } from '../core/render/plan-sh.ts';
import { renderPlanText } from '../core/render/plan-text.ts';
import { styleFor } from '../core/render/style.ts';
import { type Driver, PRIORITY, probeLocal, statusWithin } from '../drivers/driver.ts';
import { drivers, type DriverState, driverStates, findDriver, noDriverError, startParams, suggestDriver } from '../drivers/index.ts';
import { selectDelete, selectStart } from '../drivers/select.ts';
import { saveState } from '../core/profile.ts';
import { parseExtraConfig } from '../tasks/k8s/extra-config.ts';
import { renderKubeadmConfig } from '../tasks/k8s/kubeadm-yaml.ts';
import { renderKubeletDropIn, systemdWord } from '../tasks/k8s/kubelet-units.ts';
import { chooseResolver } from '../tasks/k8s/resolv.ts';
import { bridgeConflist, MANIFESTS, parseCidr, parseCni } from '../tasks/k8s/cni.ts';
import { controlPlaneName, mergeHostsEntry } from '../tasks/k8s/hosts-file.ts';
import { DEFAULT_KUBERNETES_VERSION, kubeadmApiVersion, parseKubernetesVersion } from '../tasks/k8s/versions.ts';
import { seedChecksums } from './helpers/checksum-seed.ts';
import { debianWorkstation, FixedHost, type FixedMachine } from './helpers/fixed-host.ts';
import { planOptions } from './helpers/plan-options.ts';
import { runCli } from './helpers/cli.ts';
import { hasBinary, repoRoot, tempDir } from './helpers/env.ts';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

const VERSION = DEFAULT_KUBERNETES_VERSION;
const GOLDEN = join(repoRoot, 'test', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

function sshMachine(over: Partial<FixedMachine> = {}): FixedMachine {
  return debianWorkstation({
    name: 'ssh:root@192.168.1.20:22',
    kind: 'ssh',
    facts: { uid: 0, gid: 0, user: 'root', home: '/root' },
    shellPrefix: ['ssh', '-p', '22', '-o', 'BatchMode=yes', 'root@192.168.1.20', '--'],
    dirs: ['/run/systemd/system', '/root'],
    ...over,
  });
}

interface PlanRun {
  plan: PlanDocument;
  exitCode: number;
  home: string;
}

async function planWith(
  t: { after(fn: () => void): void },
  recipe: string,
  params: Record<string, unknown>,
  hosts: { local?: FixedMachine; ssh?: FixedMachine },
  profile = 'kubestrap',
): Promise<PlanRun> {
  const home = tempDir(t, 'kubestrap-golden-');
  seedChecksums(home);
  const map = new Map<string, Host>();
  if (hosts.ssh) map.set(hosts.ssh.name, new FixedHost(hosts.ssh));
  const opts = planOptions(home, new FixedHost(hosts.local ?? debianWorkstation()), { profile, hosts: map });
  const { plan, exitCode } = await engine.plan(opts, recipe, params);
  return { plan, exitCode, home };
}

/** What differs between machines and checkouts: the temp home, the repository path, the digest. */
function normalize(text: string, home: string): string {
  return text.split(home).join('$KUBESTRAP_HOME').split(repoRoot).join('<repo>').replace(/sha256:[0-9a-f]{64}/g, 'sha256:<digest>');
}

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (update || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
    if (!update) assert.fail(`${name} did not exist: written now, review it and run again`);
    return;
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it; review the diff)`);
}

describe('driver registry', () => {
  it('finds drivers by name and by alias, and names the closest one for a typo', () => {
    assert.equal(findDriver('none').name, 'none');
    assert.equal(findDriver('native').name, 'none');
    assert.equal(findDriver('generic').name, 'ssh');
    assert.throws(() => findDriver('nonee'), (e: UserError) => e.reason === 'DRV_UNSUPPORTED' && /did you mean 'none'/.test(e.fix ?? ''));
  });

  it('reports each driver status within its timeout, with a reason when not healthy', async () => {
    for (const d of drivers) {
      const s = await d.status();
      assert.equal(typeof s.installed, 'boolean');
      if (!s.healthy) assert.ok(s.reason, `${d.name} is not healthy but says no reason`);
    }
    // Where systemd is not PID 1 (as on these test machines), none must say so.
    if (!existsSync('/run/systemd/system')) {
      const s = await findDriver('none').status();
      assert.equal(s.healthy, false);
      assert.match(s.reason ?? '', /systemd|systemctl/);
    }
  });

  it('a status check that hangs or throws is reported as not installed, with the reason, never waited on', async () => {
    const fake = (status: Driver['status']): Driver => ({ ...findDriver('ssh'), name: 'fake', status });
    const hung = await statusWithin(fake(() => new Promise(() => {})), 50);
    assert.deepEqual(hung, { installed: false, healthy: false, reason: 'the fake status check did not answer within 50 ms' });
    const threw = await statusWithin(
      fake(async () => {
        throw new Error('no such socket');
      }),
      1000,
    );
    assert.deepEqual(threw, { installed: false, healthy: false, reason: 'no such socket' });
    const fine = await statusWithin(fake(async () => ({ installed: true, healthy: true })), 1000);
    assert.deepEqual(fine, { installed: true, healthy: true });
    // driverStates bounds every driver by the same timeout and sorts by priority.
    const states = await driverStates([fake(() => new Promise(() => {})), findDriver('ssh')], 50);
    assert.deepEqual(states.map((s) => [s.driver.name, s.status.installed]), [['fake', false], ['ssh', true]]);
  });

  it('a status probe that outlives its timeout is killed and reported as failed', async () => {
    const r = await probeLocal('sleep', ['30'], 100);
    assert.equal(r.ok, false);
    assert.equal((await probeLocal('sh', ['-c', 'echo yes'], 5000)).stdout, 'yes\n');
  });

  it('picks like minikube: healthy, highest priority, never a Discouraged one', () => {
    const fake = (name: string, priority: number): Driver => ({ ...findDriver('none'), name, aliases: [], priority });
    const st = (d: Driver, installed: boolean, healthy: boolean): DriverState => ({
      driver: d,
      status: { installed, healthy, ...(healthy ? {} : { reason: `${d.name} is broken` }) },
    });
    const kvm = fake('kvm2', PRIORITY.Preferred), docker = fake('docker', PRIORITY.HighlyPreferred), none = findDriver('none');
    assert.equal(suggestDriver([st(docker, true, true), st(kvm, true, true), st(none, true, true)]).pick?.name, 'docker');
    assert.equal(suggestDriver([st(docker, true, false), st(kvm, true, true), st(none, true, true)]).pick?.name, 'kvm2');
    const only = [st(docker, false, false), st(none, true, true)];
    const s = suggestDriver(only);
    assert.equal(s.pick, undefined);
    assert.deepEqual(s.alternatives.map((x) => x.driver.name), ['none']);
    const err = noDriverError(only);
    assert.equal(err.reason, 'DRV_NOT_DETECTED');
    assert.match(err.fix ?? '', /--driver none/);
    assert.match(err.message, /docker is broken/);
  });

  it("maps start flags to the driver recipe, keeping an existing profile's settings", async (t) => {
    const home = tempDir(t);
    const none = await selectStart(
      { driver: 'native', containerRuntime: 'crio', kubernetesVersion: '1.30.2', extraConfig: ['kubelet.max-pods=50'], apiserverPort: '9443' },
      home,
      'p1',
    );
    assert.equal(none.recipe, 'driver-none');
    assert.deepEqual(none.params, { containerRuntime: 'cri-o', kubernetesVersion: 'v1.30.2', extraConfig: ['kubelet.max-pods=50'], apiserverPort: 9443 });
    const ssh = await selectStart({ driver: 'ssh', sshIpAddress: '10.1.2.3', sshUser: 'ubuntu', sshPort: 2222 }, home, 'p2');
    assert.deepEqual(ssh.params, { sshIpAddress: '10.1.2.3', sshUser: 'ubuntu', sshPort: 2222 });
    saveState(home, {
      profile: 'p2',
      recipe: 'driver-ssh',
      recipeFile: '',
      params: { ...ssh.params, kubernetesVersion: 'v1.29.1' },
      status: 'ok',
      finished: '',
      steps: [],
    });
    const again = await selectStart({ kubernetesVersion: 'v1.29.2' }, home, 'p2');
    assert.equal(again.driver.name, 'ssh');
    assert.deepEqual(again.params, { sshIpAddress: '10.1.2.3', sshUser: 'ubuntu', sshPort: 2222, kubernetesVersion: 'v1.29.2' });
    assert.deepEqual(selectDelete({}, home, 'p2').params, { sshIpAddress: '10.1.2.3', sshUser: 'ubuntu', sshPort: 2222 });
    assert.equal(selectDelete({}, home, 'p2').recipe, 'delete-ssh');
    assert.throws(() => selectDelete({}, home, 'never-started'), (e: UserError) => e.reason === 'PROFILE_UNKNOWN');
  });

  it('refuses bad start flags before planning, with exit code 2 and the fix', async (t) => {
    const env = { KUBESTRAP_HOME: tempDir(t) };
    const cases: [string[], RegExp][] = [
      [['start', '--driver', 'none', '--extra-config', 'kubelt.max-pods=5', '--dry-run'], /unknown component 'kubelt'.*did you mean 'kubelet'/],
      [['start', '--driver', 'none', '--extra-config', 'max-pods', '--dry-run'], /not component\.key=value/],
      [['start', '--driver', 'none', '--extra-config', 'kubeadm.token=x', '--dry-run'], /kubeadm\.token is not supported/],
      [['start', '--driver', 'none', '--container-runtime', 'rkt', '--dry-run'], /unknown container runtime 'rkt'/],
      [['start', '--driver', 'none', '--kubernetes-version', 'lastest', '--dry-run'], /not a Kubernetes release version/],
      // Offline (a closed loopback port stands for dl.k8s.io): the URL it could not read, exit 2.
      [
        ['start', '--driver', 'none', '--kubernetes-version', 'stable', '--binary-mirror', 'http://127.0.0.1:9/release', '--dry-run'],
        /--kubernetes-version stable: could not fetch http:\/\/127\.0\.0\.1:9\/release\/stable\.txt .*\[K8S_VERSION_UNRESOLVED\]/,
      ],
      [
        ['start', '--driver', 'none', '--extra-config', 'kube-proxy.conntrack.maxPercore=5', '--dry-run'],
        /KubeProxyConfiguration has no field 'conntrack\.maxPercore'.*did you mean 'kube-proxy\.conntrack\.maxPerCore'/,
      ],
      [['start', '--driver', 'none', '--extra-config', 'kube-proxy.conntrack.maxPerCore=many', '--dry-run'], /a whole number is expected/],
      [['start', '--driver', 'none', '--cni', 'flanel', '--dry-run'], /--cni "flanel" is not a CNI kubestrap knows.*did you mean 'flannel'/],
      [['start', '--driver', 'none', '--cni', './no-such-cni.yaml', '--dry-run'], /no-such-cni\.yaml does not exist/],
      [['start', '--driver', 'none', '--kubernetes-version', 'v1.18.0', '--dry-run'], /v1\.18 is not supported/],
      [['start', '--driver', 'none', '--apiserver-port', '70000', '--dry-run'], /"?70000"? is not a port number/],
      [['start', '--driver', 'ssh', '--dry-run'], /needs the machine's address/],
      [['start', '--driver', 'virtualbx', '--dry-run'], /unknown driver 'virtualbx'/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv, { env });
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, argv.join(' '));
      assert.equal(r.stdout, '', `${argv.join(' ')} planned nothing`);
    }
  });
});

describe('--kubernetes-version stable|latest', () => {
  it("resolves through the binary mirror's stable.txt and latest.txt, and plans the exact version", async (t) => {
    const { createServer } = await import('node:http');
    const texts: Record<string, string> = { '/release/stable.txt': 'v1.36.6\n', '/release/latest.txt': 'v1.38.0-alpha.2\n' };
    const server = createServer((req, res) => {
      const b = texts[req.url ?? ''];
      if (b) res.end(b);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const mirror = `http://127.0.0.1:${(server.address() as { port: number }).port}/release`;
    const { resolveKubernetesVersion } = await import('../tasks/k8s/versions.ts');
    const get = async (u: string) => {
      const r = await fetch(u);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.text();
    };
    assert.equal(await resolveKubernetesVersion('stable', mirror, get), 'v1.36.6');
    assert.equal(await resolveKubernetesVersion('v1.35.2', mirror, get), 'v1.35.2');
    await assert.rejects(resolveKubernetesVersion('latest', mirror, get), /latest\.txt names "v1\.38\.0-alpha\.2", not a released version/);
    const home = tempDir(t);
    // Every URL on loopback: a plan fetches the published checksums.
    const r = await runCli([
      'start',
      '--driver',
      'none',
      '--kubernetes-version',
      'stable',
      '--binary-mirror',
      mirror,
      '--cri-tools-mirror',
      mirror,
      '--cni-plugins-mirror',
      mirror,
      '--dry-run',
      '--format',
      'json',
    ], { env: { KUBESTRAP_HOME: home } });
    // The machine running the tests may not be able to host it; the parameters are what matters here.
    const plan = JSON.parse(r.stdout || '{}') as PlanDocument;
    assert.equal(plan.params?.kubernetesVersion, 'v1.36.6', r.stderr);
  });
});

describe('generated Kubernetes configuration', () => {
  const extra = parseExtraConfig([
    'apiserver.enable-admission-plugins=NodeRestriction,PodSecurity',
    'kubelet.max-pods=50',
    'kube-proxy.mode=ipvs',
    'etcd.quota-backend-bytes=4294967296',
    'kubeadm.pod-network-cidr=10.50.0.0/16',
  ]);
  const input = {
    clusterName: 'demo',
    nodeIp: '10.0.0.7',
    apiserverPort: 9443,
    criSocket: 'unix:///run/containerd/containerd.sock',
    cgroupDriver: 'systemd' as const,
    resolvConf: '/run/systemd/resolve/resolv.conf',
    extra,
  };

  it('writes kubeadm v1beta4 from 1.31 (extra args as name/value lists) and v1beta3 before', () => {
    for (const [version, api] of [['v1.31.0', 'v1beta4'], ['v1.30.5', 'v1beta3'], ['v1.24.0', 'v1beta3'], ['v1.33.1', 'v1beta4']] as const) {
      const v = parseKubernetesVersion(version);
      assert.equal(kubeadmApiVersion(v), `kubeadm.k8s.io/${api}`);
      const docs = parseAllDocuments(renderKubeadmConfig({ ...input, version: v })).map((d) => d.toJS());
      assert.deepEqual(docs.map((d) => d.kind), ['InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration', 'KubeProxyConfiguration']);
      const [init, cluster, kubelet, proxy] = docs;
      assert.equal(init.apiVersion, `kubeadm.k8s.io/${api}`);
      assert.equal(init.nodeRegistration.criSocket, 'unix:///run/containerd/containerd.sock');
      assert.deepEqual(init.localAPIEndpoint, { advertiseAddress: '10.0.0.7', bindPort: 9443 });
      assert.equal(cluster.kubernetesVersion, version);
      assert.equal(cluster.networking.podSubnet, '10.50.0.0/16');
      const admission = api === 'v1beta4' ? cluster.apiServer.extraArgs : Object.entries(cluster.apiServer.extraArgs).map(([name, value]) => ({ name, value }));
      assert.deepEqual(admission, [{ name: 'enable-admission-plugins', value: 'NodeRestriction,PodSecurity' }]);
      assert.equal(api === 'v1beta4' ? cluster.etcd.local.extraArgs[0].value : cluster.etcd.local.extraArgs['quota-backend-bytes'], '4294967296');
      assert.equal(kubelet.cgroupDriver, 'systemd');
      assert.equal(kubelet.resolvConf, '/run/systemd/resolve/resolv.conf');
      assert.equal('containerRuntimeEndpoint' in kubelet, v.minor >= 27);
      assert.equal(proxy.mode, 'ipvs');
      assert.equal(proxy.clusterCIDR, '10.50.0.0/16');
    }
  });

  it('kube-proxy: conntrack left to the machine, dotted keys nested into the configuration', () => {
    const nested = parseExtraConfig([
      'kube-proxy.conntrack.maxPerCore=8',
      'kube-proxy.iptables.masqueradeAll=true',
      'kube-proxy.nodePortAddresses=10.0.0.0/8,192.168.0.0/16',
      'kube-proxy.featureGates.Foo=true',
    ]);
    const proxy = parseAllDocuments(renderKubeadmConfig({ ...input, extra: nested, version: parseKubernetesVersion('v1.37.1') })).map((d) => d.toJS())[3];
    assert.deepEqual(proxy.conntrack, { maxPerCore: 8, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' });
    assert.deepEqual(proxy.iptables, { masqueradeAll: true });
    assert.deepEqual(proxy.nodePortAddresses, ['10.0.0.0/8', '192.168.0.0/16']);
    assert.deepEqual(proxy.featureGates, { Foo: true });
    assert.equal('conntrack.maxPerCore' in proxy, false, 'no dotted top-level key');
    const plain = parseAllDocuments(renderKubeadmConfig({ ...input, version: parseKubernetesVersion('v1.37.1') })).map((d) => d.toJS())[3];
    assert.deepEqual(plain.conntrack, { maxPerCore: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' });
  });

  it('cgroup v1 from 1.35: the kubelet is told to accept it; the control plane has a stable name', () => {
    const kubeletOf = (version: string, cgroupVersion: 1 | 2) =>
      parseAllDocuments(renderKubeadmConfig({ ...input, version: parseKubernetesVersion(version), cgroupVersion })).map((d) => d.toJS())[2];
    assert.equal(kubeletOf('v1.35.9', 1).failCgroupV1, false);
    assert.equal(kubeletOf('v1.37.1', 1).failCgroupV1, false);
    assert.equal(kubeletOf('v1.37.1', 2).failCgroupV1, false, 'set wherever the field exists: it changes nothing on cgroup v2');
    assert.equal('failCgroupV1' in kubeletOf('v1.30.5', 1), false, 'the field does not exist before 1.31');
    const docs = parseAllDocuments(
      renderKubeadmConfig({ ...input, version: parseKubernetesVersion('v1.37.1'), controlPlaneName: 'control-plane.demo.internal' }),
    ).map((d) => d.toJS());
    assert.equal(docs[1].controlPlaneEndpoint, 'control-plane.demo.internal:9443');
    assert.ok(docs[1].apiServer.certSANs.includes('control-plane.demo.internal'));
    assert.equal(controlPlaneName('My_Profile'), 'control-plane.my-profile.internal');
    const hosts = '127.0.0.1\tlocalhost\n10.0.0.5 control-plane.demo.internal\n::1 localhost\n';
    assert.equal(
      mergeHostsEntry(hosts, 'control-plane.demo.internal', '10.0.0.7'),
      "127.0.0.1\tlocalhost\n::1 localhost\n10.0.0.7\tcontrol-plane.demo.internal\t# kubestrap: the control plane's stable name\n",
    );
    assert.equal(
      mergeHostsEntry(mergeHostsEntry(hosts, 'control-plane.demo.internal', '10.0.0.7'), 'control-plane.demo.internal', undefined),
      '127.0.0.1\tlocalhost\n::1 localhost\n',
    );
  });

  it("--cni: minikube's names, a manifest path, and the bridge configuration with the pod subnet", () => {
    assert.deepEqual(parseCni('auto'), { kind: 'bridge' });
    assert.deepEqual(parseCni('auto', 3), { kind: 'manifest', name: 'flannel', url: MANIFESTS.flannel.url });
    assert.deepEqual(parseCni('false'), { kind: 'none' });
    assert.deepEqual(parseCni('/srv/cni.yaml'), { kind: 'file', path: '/srv/cni.yaml' });
    assert.throws(() => parseCni('calcio'), (e: UserError) => e.reason === 'CNI_INVALID' && /did you mean 'calico'/.test(e.fix ?? ''));
    const conf = JSON.parse(bridgeConflist('10.50.0.0/16'));
    assert.deepEqual(conf.plugins.map((p: { type: string }) => p.type), ['bridge', 'portmap']);
    assert.deepEqual(conf.plugins[0].ipam.ranges, [[{ subnet: '10.50.0.0/16' }]]);
    assert.throws(() => parseCidr('10.50.0.0/33', 'podSubnet'), /not an IPv4 network/);
  });

  it("puts kubelet extra-config on the drop-in's ExecStart, quoted for systemd", () => {
    const dropIn = renderKubeletDropIn({
      kubelet: '/var/lib/kubestrap/binaries/v1.31.4/kubelet',
      runtimeUnits: ['crio.service'],
      flags: [['max-pods', '50'], ['node-labels', 'a=b c']],
      profile: 'p',
    });
    assert.match(dropIn, /^ExecStart=$/m);
    assert.match(dropIn, /^ExecStart=\/var\/lib\/kubestrap\/binaries\/v1\.31\.4\/kubelet \$KUBELET_KUBECONFIG_ARGS .* --max-pods=50 "--node-labels=a=b c"$/m);
    assert.match(dropIn, /^Wants=crio\.service$/m);
    assert.equal(systemdWord('--x=$HOME%'), '--x=$$HOME%%');
    assert.equal(systemdWord('--x=say "hi"'), '"--x=say \\"hi\\""');
  });

  it("sends pods past systemd-resolved's stub, keeps three nameservers, and warns of DNS loops", () => {
    const stub = 'nameserver 127.0.0.53\noptions edns0\n';
    const upstream = 'nameserver 10.0.0.1\nnameserver 10.0.0.2\n';
    assert.equal(chooseResolver(stub, upstream).path, '/run/systemd/resolve/resolv.conf');
    const many = chooseResolver(stub, 'nameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\nsearch lan\n');
    assert.equal(many.path, '/var/lib/kubestrap/resolv.conf');
    assert.deepEqual(many.content!.split('\n').filter((l) => l.startsWith('nameserver')), ['nameserver 1.1.1.1', 'nameserver 2.2.2.2', 'nameserver 3.3.3.3']);
    assert.match(many.content!, /^search lan$/m);
    const noUpstream = chooseResolver(stub, null);
    assert.equal(noUpstream.path, '/etc/resolv.conf');
    assert.equal(noUpstream.notes.filter((n) => n.level === 'warn' && /loop/.test(n.message)).length, 1);
    const dnsmasq = chooseResolver('nameserver 127.0.1.1\n', null);
    assert.match(dnsmasq.notes.find((n) => n.level === 'warn')?.message ?? '', /127\.0\.1\.1.*loop/);
    assert.deepEqual(chooseResolver('nameserver 192.168.1.1\n', null).notes, []);
  });
});

const RUNTIMES = ['containerd', 'docker', 'cri-o'] as const;

describe('golden plans (fixed facts: a Debian 12 workstation)', () => {
  const style = styleFor(false, { NO_COLOR: '1' });
  for (const driver of ['none', 'ssh'] as const) {
    for (const runtime of RUNTIMES) {
      it(`${driver} × ${runtime}`, async (t) => {
        const d = findDriver(driver);
        const params = startParams(d, { containerRuntime: runtime, ...(driver === 'ssh' ? { sshIpAddress: '192.168.1.20' } : {}) }, {});
        const { plan, exitCode, home } = await planWith(t, d.startRecipe, params, driver === 'ssh' ? { ssh: sshMachine() } : {});
        const failed = plan.steps.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`);
        assert.deepEqual(failed, []);
        assert.equal(exitCode, 0);
        const sh = normalize(renderPlanSh(plan), home);
        golden(`${driver}-${runtime}.plan.txt`, normalize(renderPlanText(plan, style), home));
        golden(`${driver}-${runtime}.plan.sh`, sh);
        if (hasBinary('shellcheck')) execFileSync('shellcheck', ['-s', 'bash', '-S', 'warning', '-'], { input: renderPlanSh(plan) });
      });
    }
  }

  it('none × containerd on a cgroup v1 workstation: the kubelet told to accept it, said in the warnings', async (t) => {
    const v1 = debianWorkstation();
    delete v1.files['/sys/fs/cgroup/cgroup.controllers'];
    const { plan, exitCode, home } = await planWith(t, 'driver-none', {}, { local: v1 });
    assert.equal(exitCode, 0);
    const text = normalize(renderPlanText(plan, style), home);
    golden('none-containerd-cgroup-v1.plan.txt', text);
    assert.match(
      text,
      /^Warnings\n(.*\n)* {2}preflight: this machine uses cgroup v1, which the kubelet of Kubernetes v1\.37\.1 refuses by default: kubestrap sets failCgroupV1: false/m,
    );
    assert.match(text, /kubeadm init --config \/var\/lib\/kubestrap\/kubeadm\.yaml --ignore-preflight-errors=Swap,SystemVerification$/m);
  });

  it('the kubeadm init command and the audit are exactly the planned ones', async (t) => {
    const { plan } = await planWith(t, 'driver-none', {}, {});
    const effects = plan.steps.flatMap((s) => s.effects.map((e) => ({ step: s.id, ...e })));
    const init = effects.filter((e) => e.step === 'init' && e.kind === 'exec');
    assert.deepEqual(init.map((e) => e.kind === 'exec' && [e.command, e.sudo]), [[
      `env PATH=/var/lib/kubestrap/binaries/${VERSION}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin kubeadm init --config /var/lib/kubestrap/kubeadm.yaml --ignore-preflight-errors=Swap`,
      true,
    ]]);
    const listens = effects.filter((e) => e.kind === 'listen').map((e) => e.kind === 'listen' && `${e.component} ${e.address}:${e.port}`);
    for (
      const l of [
        'kube-apiserver 0.0.0.0:8443',
        'kubelet 0.0.0.0:10250',
        'kube-scheduler 127.0.0.1:10259',
        'kube-controller-manager 127.0.0.1:10257',
        'etcd (clients) 192.168.1.20:2379',
        'etcd (peers) 192.168.1.20:2380',
      ]
    ) {
      assert.ok(listens.includes(l), `${l} is declared`);
    }
    const notes = plan.steps.flatMap((s) => s.notes ?? []);
    assert.ok(notes.some((n) => n.level === 'warn' && /reachable from other machines/.test(n.message) && /192\.168\.1\.20/.test(n.message)));
    assert.ok(notes.some((n) => /systemd-resolved's stub/.test(n.message)));
    // The kubelet gets the trimmed resolver copy, and the kubeadm config names it.
    const cfg = effects.find((e) => e.kind === 'write' && e.path === '/var/lib/kubestrap/kubeadm.yaml');
    assert.ok(cfg && cfg.kind === 'write');
    const kubelet = parseAllDocuments(cfg.content!).map((d) => d.toJS()).find((d) => d.kind === 'KubeletConfiguration');
    assert.equal(kubelet.resolvConf, '/var/lib/kubestrap/resolv.conf');
    // Root only where needed: everything under /etc and /var/lib as root, the user's own kubeconfig directory not.
    for (const e of effects) {
      if (e.kind === 'write') assert.equal(e.sudo, true, `${e.path} is a system file`);
      if (e.kind === 'exec' && /mkdir -m 0700 \/home\/alice\/.kube/.test(e.command)) assert.equal(e.sudo, false);
    }
    const install = effects.find((e) => e.kind === 'exec' && e.command.startsWith('install '));
    assert.deepEqual(install && install.kind === 'exec' && [install.command, install.sudo], [
      'install -m 0600 -o 1000 -g 1000 /etc/kubernetes/admin.conf /home/alice/.kube/config',
      true,
    ]);
  });

  it('--cni flannel, or a manifest of yours: put on the node, applied with kubectl after kubeadm init', async (t) => {
    const flannel = await planWith(t, 'driver-none', { cni: 'flannel' }, {});
    assert.equal(flannel.exitCode, 0);
    const cni = flannel.plan.steps.find((s) => s.id === 'cni')!;
    assert.ok(cni.effects.some((e) => e.kind === 'download' && e.url === MANIFESTS.flannel.url && e.sha256 === undefined));
    assert.ok(cni.effects.some((e) => e.kind === 'write' && e.path === '/var/lib/kubestrap/cni/manifest.yaml'));
    assert.ok(!cni.effects.some((e) => e.kind === 'write' && e.path.endsWith('.conflist')), 'no bridge configuration');
    const apply = flannel.plan.steps.find((s) => s.id === 'pod-network')!;
    assert.deepEqual(apply.effects.filter((e) => e.kind === 'exec').map((e) => e.kind === 'exec' && [e.command, e.sudo]), [
      [`/var/lib/kubestrap/binaries/${VERSION}/kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f /var/lib/kubestrap/cni/manifest.yaml`, true],
    ]);
    const dir = tempDir(t);
    writeFileSync(join(dir, 'my-cni.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: my-cni }\n');
    const own = await planWith(t, 'driver-none', { cni: join(dir, 'my-cni.yaml') }, {});
    const put = own.plan.steps.find((s) => s.id === 'cni')!.effects.find((e) => e.kind === 'write' && e.path === '/var/lib/kubestrap/cni/manifest.yaml');
    assert.ok(put && put.kind === 'write');
    assert.equal(put.source, join(dir, 'my-cni.yaml'));
    assert.equal(put.sha256, sha256('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: my-cni }\n'));
  });

  it('refuses a second none cluster on the same machine (exit 3), and allows ssh profiles on other machines', async (t) => {
    const claimed = debianWorkstation();
    claimed.files['/var/lib/kubestrap/cluster.json'] = JSON.stringify({ profile: 'first', driver: 'none', kubernetesVersion: VERSION }) + '\n';
    const second = await planWith(t, 'driver-none', {}, { local: claimed }, 'second');
    assert.equal(second.exitCode, 3);
    const claim = second.plan.steps.find((s) => s.id === 'claim')!;
    assert.match(claim.error ?? '', /already hosts kubestrap cluster 'first' \(driver none\).*kubestrap delete -p first.*\[MACHINE_IN_USE\]/);
    assert.ok(second.plan.steps.filter((s) => s.id !== 'claim' && s.id !== 'preflight').every((s) => s.status === 'skipped' && !s.effects.length));
    // The same profile again is fine: it is its own cluster.
    const same = await planWith(t, 'driver-none', {}, { local: claimed }, 'first');
    assert.equal(same.exitCode, 0, JSON.stringify(same.plan.steps.filter((s) => s.error).map((s) => s.error)));
    // ssh: profile 'second' on another machine, while this one hosts 'first'.
    const other = sshMachine({ name: 'ssh:root@192.168.1.30:22' });
    const ssh = await planWith(t, 'driver-ssh', { sshIpAddress: '192.168.1.30' }, { local: claimed, ssh: other }, 'second');
    assert.equal(ssh.exitCode, 0);
    // …but not on a machine that already hosts another profile's cluster.
    const busy = sshMachine({ files: { ...sshMachine().files, '/var/lib/kubestrap/cluster.json': claimed.files['/var/lib/kubestrap/cluster.json']! } });
    assert.equal((await planWith(t, 'driver-ssh', { sshIpAddress: '192.168.1.20' }, { ssh: busy }, 'second')).exitCode, 3);
  });

  it('delete lists every path it erases with its size, and where the backups are', async (t) => {
    const m = debianWorkstation();
    Object.assign(m.files, {
      '/var/lib/kubestrap/cluster.json': JSON.stringify({ profile: 'kubestrap', driver: 'none', kubernetesVersion: VERSION }) + '\n',
      '/var/lib/kubestrap/kubeadm.yaml': 'kind: InitConfiguration\nnodeRegistration:\n  criSocket: unix:///run/containerd/containerd.sock\n',
      [`/var/lib/kubestrap/binaries/${VERSION}/kubeadm`]: 'x'.repeat(1000),
      '/etc/systemd/system/kubelet.service': '[Service]\n',
      '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf': '[Service]\n',
      '/etc/kubernetes/admin.conf': 'secret',
      '/home/alice/.kube/config': 'current-context: kubernetes-admin@kubestrap\n',
    });
    m.answers['systemctl is-active --quiet kubelet'] = '';
    m.answers['find /tmp/backups -type f'] = '/tmp/backups/etc/containerd/config.toml\n';
    const { plan, exitCode } = await planWith(t, 'delete-none', { backupDir: '/tmp/backups' }, { local: m });
    assert.equal(exitCode, 0);
    const effects = plan.steps.flatMap((s) => s.effects);
    const cmds = effects.filter((e) => e.kind === 'exec').map((e) => e.kind === 'exec' && e.command);
    assert.deepEqual(cmds, [
      `env PATH=/var/lib/kubestrap/binaries/${VERSION}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin kubeadm reset -f --cri-socket unix:///run/containerd/containerd.sock`,
    ]);
    const removed = effects.filter((e) => e.kind === 'remove' && e.exists).map((e) => e.kind === 'remove' && [e.path, e.bytes]);
    assert.deepEqual(removed, [
      ['/etc/systemd/system/kubelet.service.d', 10],
      ['/etc/systemd/system/kubelet.service', 10],
      ['/etc/kubernetes', 6],
      [
        '/var/lib/kubestrap',
        1000 + Buffer.byteLength(m.files['/var/lib/kubestrap/cluster.json']!) + Buffer.byteLength(m.files['/var/lib/kubestrap/kubeadm.yaml']!),
      ],
      ['/home/alice/.kube/config', 44],
    ]);
    const services = effects.filter((e) => e.kind === 'service').map((e) => e.kind === 'service' && `${e.action} ${e.name}`);
    assert.deepEqual(services, ['stop kubelet', 'daemon-reload systemd']);
    const notes = plan.steps.flatMap((s) => s.notes ?? []).map((n) => n.message);
    assert.ok(notes.some((n) => n.includes('/tmp/backups: /etc/containerd/config.toml')), notes.join('\n'));
    const text = renderPlanText(plan, styleFor(false, { NO_COLOR: '1' }));
    assert.match(text, /Paths erased\n {2}\/etc\/systemd\/system\/kubelet\.service\.d \(10 B\)/);
  });

  it('yaml sanity: every golden kubeadm config parses', () => {
    for (const runtime of RUNTIMES) {
      const file = join(GOLDEN, `none-${runtime}.plan.sh`);
      assert.ok(existsSync(file), `${file} is missing: make it with UPDATE_GOLDEN=1`);
      const text = readFileSync(file, 'utf8');
      const m = /kubeadm\.yaml[^\n]*<<'KUBESTRAP_EOF'\n([\s\S]*?)\nKUBESTRAP_EOF/.exec(text);
      assert.ok(m, `the kubeadm config is in ${file}`);
      assert.equal(parseAllDocuments(m[1]!).length, 4);
      assert.ok(parseYaml(m[1]!.split('---\n')[0]!));
    }
  });
});

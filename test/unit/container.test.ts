// The pure parts of the container drivers: subnet arithmetic, capability masks, the join secret
// scrubber, image references as containerd names them, kubeconfig merging, and each Engine API
// call's command line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { engineCommand, runArgs, type RunSpec } from '../../core/engine-api.ts';
import { hostAddress, isPrivate, overlaps, parseCidr } from '../../tasks/container/common.ts';
import { missingCaps } from '../../tasks/container/privileges.ts';
import { scrubSecrets } from '../../tasks/container/secrets.ts';
import { mergeKubeconfig } from '../../tasks/container-kubeconfig.ts';
import { fullReference, nodeReference } from '../../tasks/load-image.ts';
import { adminConf, USER_KUBECONFIG } from '../fixtures/kubeconfigs.ts';

describe('container driver pieces', () => {
  it('subnets: overlap, private ranges, node addresses', () => {
    assert.equal(overlaps(parseCidr('192.168.49.0/24')!, parseCidr('192.168.0.0/16')!), true);
    assert.equal(overlaps(parseCidr('192.168.49.0/24')!, parseCidr('192.168.50.0/24')!), false);
    assert.equal(overlaps(parseCidr('10.0.0.5')!, parseCidr('10.0.0.0/8')!), true);
    assert.equal(isPrivate(parseCidr('192.168.49.0/24')!), true);
    assert.equal(isPrivate(parseCidr('172.32.0.0/24')!), false);
    assert.equal(hostAddress('192.168.49.0/24', 2), '192.168.49.2');
    assert.throws(() => hostAddress('192.168.49.0/24', 255));
    assert.equal(parseCidr('300.1.1.1/24'), undefined);
  });

  it('capabilities missing from a bounding set', () => {
    assert.deepEqual(missingCaps('CapBnd:\t000001fffeffffff\n', 40), ['SYS_RESOURCE']);
    assert.deepEqual(missingCaps('CapBnd:\t000001ffffffffff\n', 40), []);
    assert.deepEqual(missingCaps('CapBnd:\t00000000a80425fb\n', 40).slice(0, 3), ['DAC_READ_SEARCH', 'LINUX_IMMUTABLE', 'NET_BROADCAST']);
  });

  it('scrubs bootstrap tokens, certificate keys and CA hashes', () => {
    const line = `kubeadm join 192.168.49.2:8443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:${'a'.repeat(64)} --certificate-key ${
      'b'.repeat(64)
    }`;
    assert.equal(
      scrubSecrets(line),
      'kubeadm join 192.168.49.2:8443 --token <secret:bootstrap-token> --discovery-token-ca-cert-hash <secret:ca-cert-hash> --certificate-key <secret:certificate-key>',
    );
  });

  it('names images the way containerd lists them', () => {
    assert.equal(fullReference('app'), 'docker.io/library/app:latest');
    assert.equal(fullReference('app:1'), 'docker.io/library/app:1');
    assert.equal(fullReference('me/app:1'), 'docker.io/me/app:1');
    assert.equal(fullReference('localhost:5000/app'), 'localhost:5000/app:latest');
    assert.equal(fullReference('ghcr.io/x/app@sha256:abc'), 'ghcr.io/x/app@sha256:abc');
  });

  it('loads an image under the name its engine keeps: podman stores a short name as localhost/NAME', () => {
    assert.equal(nodeReference('app:1', ['app:1']), 'docker.io/library/app:1');
    assert.equal(nodeReference('app:1', ['docker.io/library/app:1']), 'docker.io/library/app:1');
    assert.equal(nodeReference('app:1', ['localhost/app:1']), 'localhost/app:1');
    assert.equal(nodeReference('app', ['localhost/app:latest']), 'localhost/app:latest');
    assert.equal(nodeReference('registry.k8s.io/pause:3.10', ['registry.k8s.io/pause:3.10']), 'registry.k8s.io/pause:3.10');
  });

  it('merges the admin kubeconfig as a context named after the profile, keeping the others', () => {
    const admin = adminConf('demo', 'https://192.168.49.2:8443');
    const mine = USER_KUBECONFIG;
    const merged = parse(mergeKubeconfig(mine, admin, 'demo', 'https://127.0.0.1:32771'));
    assert.deepEqual(merged.clusters.map((c: { name: string }) => c.name), ['work', 'demo']);
    assert.equal(merged.clusters[1].cluster.server, 'https://127.0.0.1:32771');
    assert.equal(merged.clusters[1].cluster['certificate-authority-data'], 'Q0E=');
    assert.deepEqual(merged.contexts[1], { name: 'demo', context: { cluster: 'demo', user: 'demo' } });
    assert.equal(merged['current-context'], 'demo');
    // Merging again replaces, never duplicates.
    const again = parse(mergeKubeconfig(mergeKubeconfig(mine, admin, 'demo', 'https://127.0.0.1:1'), admin, 'demo', 'https://127.0.0.1:2'));
    assert.deepEqual(again.clusters.map((c: { name: string; cluster: { server: string } }) => `${c.name} ${c.cluster.server}`), [
      'work https://work:6443',
      'demo https://127.0.0.1:2',
    ]);
  });

  it('plans each Engine API call as its docker or podman command line, every value quoted', () => {
    const docker = { engine: 'docker' as const, socket: '/var/run/docker.sock' };
    const podman = { engine: 'podman' as const, socket: '/tmp/p d/podman.sock' };
    assert.equal(
      engineCommand(docker, { op: 'network.create', name: 'demo', subnet: '192.168.49.0/24', gateway: '192.168.49.1', labels: { a: 'b c' } }).text,
      "docker network create --driver bridge --subnet 192.168.49.0/24 --gateway 192.168.49.1 --label 'a=b c' demo",
    );
    assert.equal(engineCommand(podman, { op: 'container.remove', name: 'demo-m02' }).text, "podman --url 'unix:///tmp/p d/podman.sock' rm -f -v demo-m02");
    assert.equal(
      engineCommand(docker, { op: 'image.pipe', image: 'app:1', name: 'demo', argv: ['ctr', '-n', 'k8s.io', 'images', 'import', '-'] }).text,
      'docker save app:1 | docker exec -i demo ctr -n k8s.io images import -',
    );
    assert.equal(
      engineCommand(docker, { op: 'container.exec', name: 'w', argv: ['sh', '-c', 'read -r x'], stdin: 'secret', stdinVar: 'JOIN' }).text,
      `printf '%s\\n' "\${JOIN:?}" | docker exec -i w sh -c 'read -r x'`,
    );
    const spec: RunSpec = {
      name: 'n',
      hostname: 'n',
      image: 'img',
      labels: {},
      network: 'net',
      ip: '10.0.0.2',
      privileged: true,
      capAdd: [],
      capDrop: [],
      securityOpt: [],
      tmpfs: ['/run'],
      volumes: ['n:/var'],
      devices: [],
      env: ['container=docker'],
      publish: [{ hostIp: '127.0.0.1', hostPort: '', containerPort: 8443, protocol: 'tcp' }],
      args: ['/sbin/init'],
    };
    assert.deepEqual(runArgs(spec), [
      '-d',
      '--name',
      'n',
      '--hostname',
      'n',
      '--privileged',
      '--tmpfs',
      '/run',
      '--volume',
      'n:/var',
      '--network',
      'net',
      '--ip',
      '10.0.0.2',
      '--env',
      'container=docker',
      '--publish',
      '127.0.0.1::8443/tcp',
      'img',
      '/sbin/init',
    ]);
  });
});

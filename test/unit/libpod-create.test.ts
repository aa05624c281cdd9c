// The libpod create body says what `podman run` says: the same mounts, volumes, network address,
// ports and namespace, in the shape Podman's own API takes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { libpodCreateBody, signalNumber } from '../../core/libpod-create.ts';

describe('libpod create body', () => {
  it('maps a node spec field by field', () => {
    const body = libpodCreateBody({
      name: 'n',
      hostname: 'n',
      image: 'img',
      labels: { a: 'b' },
      network: 'net',
      ip: '192.168.49.2',
      privileged: false,
      capAdd: ['ALL'],
      capDrop: ['SYS_RESOURCE'],
      securityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      cgroupns: 'private',
      tmpfs: ['/run', '/tmp:size=64m,mode=1777'],
      volumes: ['/lib/modules:/lib/modules:ro', 'n:/var:exec'],
      devices: ['/dev/kmsg'],
      env: ['container=podman', 'X=a=b'],
      stopSignal: 'SIGRTMIN+3',
      cpus: 1.5,
      memoryMb: 2048,
      publish: [{ hostIp: '127.0.0.1', hostPort: '', containerPort: 8443, protocol: 'tcp' }, {
        hostIp: '0.0.0.0',
        hostPort: 80,
        containerPort: 30080,
        protocol: 'tcp',
      }],
      entrypoint: '/bin/sh',
      args: ['-c', 'x'],
    });
    assert.deepEqual(body.cgroupns, { nsmode: 'private' });
    assert.deepEqual(body.mounts, [
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: [] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=64m', 'mode=1777'] },
      { destination: '/lib/modules', type: 'bind', source: '/lib/modules', options: ['rbind', 'ro'] },
    ]);
    assert.deepEqual(body.volumes, [{ Name: 'n', Dest: '/var', Options: ['exec'] }]);
    assert.deepEqual(body.env, { container: 'podman', X: 'a=b' });
    assert.deepEqual(body.Networks, { net: { static_ips: ['192.168.49.2'] } });
    assert.deepEqual(body.portmappings, [
      { host_ip: '127.0.0.1', host_port: 0, container_port: 8443, protocol: 'tcp' },
      { host_ip: '0.0.0.0', host_port: 80, container_port: 30080, protocol: 'tcp' },
    ]);
    assert.equal(body.seccomp_profile_path, 'unconfined');
    assert.equal(body.apparmor_profile, 'unconfined');
    assert.deepEqual(body.resource_limits, { cpu: { quota: 150_000, period: 100_000 }, memory: { limit: 2048 * 1024 * 1024 } });
    assert.equal(body.stop_signal, 37);
    assert.deepEqual([body.entrypoint, body.command], [['/bin/sh'], ['-c', 'x']]);
  });

  it('names signals the way podman parses them', () => {
    assert.deepEqual(['SIGTERM', 'TERM', '9', 'SIGRTMIN+3', 'SIGRTMAX-1'].map(signalNumber), [15, 15, 9, 37, 63]);
    assert.throws(() => signalNumber('SIGNOPE'), /unknown signal SIGNOPE/);
  });

  it('refuses a security option it cannot carry over', () => {
    assert.throws(
      () =>
        libpodCreateBody({
          name: 'n',
          hostname: 'n',
          image: 'i',
          labels: {},
          network: 'x',
          privileged: true,
          capAdd: [],
          capDrop: [],
          securityOpt: ['no-new-privileges'],
          tmpfs: [],
          volumes: [],
          devices: [],
          env: [],
          publish: [],
          args: [],
        }),
      /no-new-privileges has no libpod equivalent/,
    );
  });
});

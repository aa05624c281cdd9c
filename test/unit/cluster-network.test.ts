// The network between a profile's VMs: each profile its own qemu bus, fixed node addresses of the subnet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busNetdev, busOf, clusterAddress, clusterOutputs, seedNics } from '../../tasks/vm/cluster-network.ts';
import { UserError } from '../../core/errors.ts';

test('a profile keeps its bus; another profile gets another, in 239.255.0.0/16 and the dynamic ports', () => {
  assert.deepEqual(busOf('minikube'), busOf('minikube'));
  const names = Array.from({ length: 200 }, (_, i) => `p${i}`);
  const buses = new Set(names.map((n) => `${busOf(n).group}:${busOf(n).port}`));
  assert.equal(buses.size, names.length);
  for (const n of names) {
    const b = busOf(n);
    assert.match(b.group, /^239\.255\.\d{1,3}\.\d{1,3}$/);
    assert.ok(Number(b.group.split('.')[3]) >= 1 && Number(b.group.split('.')[3]) <= 254);
    assert.ok(b.port >= 49152 && b.port <= 65535);
  }
  assert.equal(busNetdev('net1', { group: '239.255.1.2', port: 50000 }), 'socket,id=net1,mcast=239.255.1.2:50000,localaddr=127.0.0.1');
});

test('node i has address i + 2 of the subnet; a subnet too small for it is one clear error', () => {
  assert.deepEqual(clusterAddress('192.168.105.0/24', 0), { address: '192.168.105.2', prefix: 24 });
  assert.deepEqual(clusterAddress('192.168.105.0/24', 4), { address: '192.168.105.6', prefix: 24 });
  assert.deepEqual(clusterAddress('10.9.8.77/28', 1), { address: '10.9.8.67', prefix: 28 });
  assert.throws(
    () => clusterAddress('10.0.0.0/30', 2),
    (e: unknown) => e instanceof UserError && e.reason === 'CIDR_INVALID' && /has no host number 4/.test(e.message),
  );
  assert.throws(() => clusterAddress('10.0.0/24', 0), (e: unknown) => e instanceof UserError && e.reason === 'CIDR_INVALID');
});

test('one node has no profile network; more put the NAT NIC on DHCP and the second at its address', () => {
  assert.deepEqual(clusterOutputs({ nodes: 1, index: 0, clusterSubnet: '192.168.105.0/24' }), { clusterAddress: '', clusterSubnet: '' });
  assert.equal(seedNics({ nodes: 1, index: 0, clusterSubnet: '192.168.105.0/24' }, 'a', 'b'), undefined);
  assert.deepEqual(clusterOutputs({ nodes: 3, index: 2, clusterSubnet: '192.168.105.0/24' }), {
    clusterAddress: '192.168.105.4',
    clusterSubnet: '192.168.105.0/24',
  });
  assert.deepEqual(seedNics({ nodes: 3, index: 2, clusterSubnet: '192.168.105.0/24' }, '52:54:00:00:00:01', '52:54:00:00:00:02'), [
    { name: 'eth0', mac: '52:54:00:00:00:01' },
    { name: 'eth1', mac: '52:54:00:00:00:02', address: '192.168.105.4/24' },
  ]);
});

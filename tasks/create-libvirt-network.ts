// The kvm2 driver's networks (minikube's createNetwork/setupNetwork): the NAT network the VM reaches
// the outside through (`--kvm-network`, libvirt's `default`) and the profile's private network
// (`mk-<profile>` or `--network`), each defined if missing, started, and set to autostart. A new
// network gets the first free /24 of minikube's search. Every virsh call is a planned command.
import { placeholder } from '../core/placeholder.ts';
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { checkBridgeName, checkNetworkName, freeSubnet, networkXml, subnetPrefix, takenPrefixes } from './libvirt/network.ts';
import { checkUri, DEFAULT_URI, machineDir, networkNames, networkState, reachLibvirt } from './libvirt/virsh.ts';

interface Ensure {
  name: string;
  bridge: string;
  nat: boolean;
  start: string;
}

async function takenOnHost(ctx: TaskContext, uri: string): Promise<Set<string>> {
  const addrs = await ctx.probe`ip -4 -o addr show`;
  const routes = await ctx.probe`ip -4 -o route show`;
  const texts = [addrs.stdout, routes.stdout];
  for (const n of await networkNames(ctx, uri)) {
    const xml = await ctx.probe`virsh -c ${uri} net-dumpxml --inactive ${n}`;
    // Only the network's own address, as a /24.
    const ip = /<ip\b[^>]*address='([\d.]+)'/.exec(xml.stdout)?.[1];
    if (ip) texts.push(`${ip}/24`);
  }
  return takenPrefixes(...texts);
}

async function ensure(ctx: TaskContext, uri: string, dir: string, n: Ensure, taken: Set<string>): Promise<{ prefix: string; bridge: string }> {
  const state = await networkState(ctx, uri, n.name);
  let prefix = state.prefix;
  let bridge = state.bridge ?? n.bridge;
  if (!state.exists) {
    const found = freeSubnet(n.start, taken);
    if (!found) {
      ctx.block(
        'PR_KVM_NO_FREE_SUBNET',
        `no free /24 for libvirt network '${n.name}' from ${n.start} in steps of 11 (20 tried)`,
        'pass another start (--set subnetStart=A.B.C.0), or remove unused networks',
      );
      return { prefix: placeholder('subnet search'), bridge };
    }
    prefix = found;
    taken.add(found);
    const file = `${dir}/network-${n.name}.xml`;
    await ctx.write(file, networkXml({ name: n.name, prefix, nat: n.nat, ...(n.bridge ? { bridge: n.bridge } : {}) }), { mode: '0644' });
    await ctx.$`virsh -c ${uri} net-define ${file}`;
  }
  if (!state.active) await ctx.$`virsh -c ${uri} net-start ${n.name}`;
  if (!state.autostart) await ctx.$`virsh -c ${uri} net-autostart ${n.name}`;
  if (!bridge) {
    // libvirt named the bridge when it defined the network.
    bridge = ctx.mode === 'run' ? (await networkState(ctx, uri, n.name)).bridge ?? '' : placeholder(`net-define ${n.name}`);
  }
  return { prefix: prefix!, bridge };
}

const PARAMS = {
  uri: { type: 'string', default: DEFAULT_URI, description: 'libvirt connection (--kvm-qemu-uri)' },
  network: { type: 'string', default: '', description: 'the private network (--network); empty: mk-<profile>' },
  kvmNetwork: { type: 'string', default: 'default', description: 'the NAT network (--kvm-network)' },
  subnetStart: { type: 'string', default: '192.168.39.0', description: 'where the private subnet search starts' },
  kvmSubnetStart: { type: 'string', default: '192.168.122.0', description: 'where the search starts if the NAT network must be defined' },
  bridge: { type: 'string', default: '', description: "the private network's bridge (empty: libvirt picks virbrN)" },
  kvmBridge: { type: 'string', default: '', description: "the NAT network's bridge if it must be defined" },
  home: { type: 'string', default: '', description: 'KUBESTRAP_HOME (empty: ~/.kubestrap)' },
} as const;

export default defineTask({
  name: 'create-libvirt-network',
  description: "Ensure the libvirt NAT network and the profile's private network exist, are active and autostart",
  params: PARAMS,
  async check(ctx, p) {
    const names = [p.kvmNetwork, p.network || `mk-${ctx.profile}`];
    for (const n of names) {
      const s = await networkState(ctx, p.uri, n);
      if (!s.exists || !s.active || !s.autostart) return false;
    }
    return true;
  },
  async outputs(ctx, p) {
    const name = p.network || `mk-${ctx.profile}`;
    const s = await networkState(ctx, p.uri, name);
    const k = await networkState(ctx, p.uri, p.kvmNetwork);
    return { network: name, kvmNetwork: p.kvmNetwork, subnet: `${s.prefix}.0/24`, gateway: `${s.prefix}.1`, bridge: s.bridge ?? '', kvmBridge: k.bridge ?? '' };
  },
  async run(ctx, p) {
    const uri = checkUri(p.uri);
    const name = checkNetworkName(p.network || `mk-${ctx.profile}`, 'network');
    checkNetworkName(p.kvmNetwork, '--kvm-network');
    checkBridgeName(p.bridge);
    checkBridgeName(p.kvmBridge);
    subnetPrefix(p.subnetStart);
    subnetPrefix(p.kvmSubnetStart);
    await reachLibvirt(ctx, uri);
    const dir = await machineDir(ctx, p.home);
    const taken = await takenOnHost(ctx, uri);
    const kvm = await ensure(ctx, uri, dir, { name: p.kvmNetwork, bridge: p.kvmBridge, nat: true, start: p.kvmSubnetStart }, taken);
    const priv = await ensure(ctx, uri, dir, { name, bridge: p.bridge, nat: false, start: p.subnetStart }, taken);
    return { network: name, kvmNetwork: p.kvmNetwork, subnet: `${priv.prefix}.0/24`, gateway: `${priv.prefix}.1`, bridge: priv.bridge, kvmBridge: kvm.bridge };
  },
});

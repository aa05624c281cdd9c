// The network between a profile's VMs where the hypervisor's NAT cannot be one: qemu's user-mode
// networking and VirtualBox's NAT give every VM the same 10.0.2.15, reachable by none of the others.
// With more than one node each VM gets a second NIC on a network of the profile's own, with no DHCP
// server: each node takes a fixed address of the subnet, given by its cloud-init seed.
// - qemu: QEMU's UDP multicast socket backend, which joins every VM with the same group and port
//   into one Ethernet segment (a hub), bound to 127.0.0.1 so frames never leave this machine.
// - VirtualBox: an internal network (intnet) named after the profile.
import { createHash } from 'node:crypto';
import type { TaskContext } from '../../core/context.ts';
import { hostOf } from '../k8s/cni.ts';
import { listeningPorts } from '../k8s/node-facts.ts';
import type { SeedNic } from './cloud-init.ts';

/** The subnet of minikube's qemu driver on its socket_vmnet network (nodes from .2 up). */
export const DEFAULT_CLUSTER_SUBNET = '192.168.105.0/24';

/** The parameters a VM task takes for it, with their defaults. */
export const CLUSTER_PARAMS = {
  nodes: { type: 'number', default: 1, description: "how many nodes the profile has: more than one puts each VM on the profile's network" },
  index: { type: 'number', default: 0, description: 'which node this VM is: 0 the control plane, 1 … the workers' },
  clusterSubnet: { type: 'string', default: DEFAULT_CLUSTER_SUBNET, description: "the profile's network: node i has its address i + 2" },
} as const;

export interface ClusterPlace {
  nodes: number;
  index: number;
  clusterSubnet: string;
}

/** Node INDEX's address (the control plane is 0, at .2) and the subnet's prefix length. */
export function clusterAddress(subnet: string, index: number): { address: string; prefix: number } {
  return { address: hostOf(subnet, 2 + index, 'clusterSubnet'), prefix: Number(subnet.trim().split('/')[1]) };
}

/** The node's address on the profile's network and its subnet, for the node graph ('' for one node). */
export function clusterOutputs(p: ClusterPlace): { clusterAddress: string; clusterSubnet: string } {
  if (p.nodes < 2) return { clusterAddress: '', clusterSubnet: '' };
  return { clusterAddress: clusterAddress(p.clusterSubnet, p.index).address, clusterSubnet: p.clusterSubnet.trim() };
}

/** The seed's NICs: the NAT one by DHCP and the profile network's at its address (none for one node: the image's own configuration). */
export function seedNics(p: ClusterPlace, natMac: string, clusterMac: string): SeedNic[] | undefined {
  if (p.nodes < 2) return undefined;
  const { address, prefix } = clusterAddress(p.clusterSubnet, p.index);
  return [{ name: 'eth0', mac: natMac }, { name: 'eth1', mac: clusterMac, address: `${address}/${prefix}` }];
}

/**
 * Node INDEX's n host ports for its forwards, from FIRST up, skipping ports something listens on:
 * the VMs start side by side and see the same free ports, so node i takes the i-th n of them.
 */
export async function forwardPorts(ctx: TaskContext, first: number, n: number, index: number): Promise<number[]> {
  const used = await listeningPorts(ctx);
  const out: number[] = [];
  for (let port = first; out.length < n * (index + 1) && port < 65535; port++) if (!used.has(port)) out.push(port);
  return out.slice(n * index);
}

export interface Bus {
  /** The multicast group and UDP port: `-netdev socket,mcast=GROUP:PORT`. */
  group: string;
  port: number;
}

/** The profile's qemu bus: a group in 239.255.0.0/16 (site-local scope) and a port from 49152. */
export function busOf(profile: string): Bus {
  const h = createHash('sha256').update(`kubestrap/${profile}/bus`).digest();
  return { group: `239.255.${h[0]}.${h[1]! % 254 + 1}`, port: 49152 + (h.readUInt16BE(2) % 16384) };
}

/** The netdev of a qemu VM on the bus. */
export function busNetdev(id: string, bus: Bus): string {
  return `socket,id=${id},mcast=${bus.group}:${bus.port},localaddr=127.0.0.1`;
}

/** The profile's VirtualBox internal network. */
export function internalNetwork(profile: string): string {
  return `kubestrap-${profile}`;
}

// The network between a profile's qemu VMs: QEMU's UDP multicast socket backend, which joins every
// VM with the same group and port into one Ethernet segment (a hub), bound to 127.0.0.1 so frames
// never leave this machine. It has no DHCP server: each node takes a fixed address of the subnet,
// given by its cloud-init seed. Each profile has its own group and port, derived from its name.
import { createHash } from 'node:crypto';
import { hostOf } from '../k8s/cni.ts';

/** The subnet of minikube's qemu driver on its socket_vmnet network (nodes from .2 up). */
export const DEFAULT_BUS_SUBNET = '192.168.105.0/24';

export interface Bus {
  /** The multicast group and UDP port: `-netdev socket,mcast=GROUP:PORT`. */
  group: string;
  port: number;
}

/** The profile's bus: a group in 239.255.0.0/16 (site-local scope) and a port from 49152. */
export function busOf(profile: string): Bus {
  const h = createHash('sha256').update(`kubestrap/${profile}/bus`).digest();
  return { group: `239.255.${h[0]}.${h[1]! % 254 + 1}`, port: 49152 + (h.readUInt16BE(2) % 16384) };
}

/** The netdev of a VM on the bus. */
export function busNetdev(id: string, bus: Bus): string {
  return `socket,id=${id},mcast=${bus.group}:${bus.port},localaddr=127.0.0.1`;
}

/** Node INDEX's address on the bus (the control plane is 0, at .2) and the subnet's prefix length. */
export function busAddress(subnet: string, index: number): { address: string; prefix: number } {
  return { address: hostOf(subnet, 2 + index, 'busSubnet'), prefix: Number(subnet.trim().split('/')[1]) };
}

// libvirt networks as kubestrap makes and reads them: minikube's private network (isolated, no DNS,
// gateway .1, DHCP .2–.253 with .254 held back for a virtual IP), the NAT template libvirt ships as
// `default`, the free-subnet search, and what `virsh net-info`/`net-dumpxml` say.
import { UserError } from '../../core/errors.ts';

export interface NetworkSpec {
  name: string;
  /** Bridge device; empty: libvirt picks virbrN. */
  bridge?: string;
  /** First three octets of the /24, e.g. 192.168.39 */
  prefix: string;
  /** NAT to the host's uplink (the default network); a private network is isolated. */
  nat: boolean;
}

function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

export function networkXml(n: NetworkSpec): string {
  const lines = [
    '<network>',
    `  <name>${xmlText(n.name)}</name>`,
    ...(n.nat ? ["  <forward mode='nat'/>"] : []),
    ...(n.bridge ? [`  <bridge name='${xmlText(n.bridge)}' stp='on' delay='0'/>`] : []),
    ...(n.nat ? [] : ["  <dns enable='no'/>"]),
    `  <ip address='${n.prefix}.1' netmask='255.255.255.0'>`,
    '    <dhcp>',
    `      <range start='${n.prefix}.2' end='${n.prefix}.${n.nat ? 254 : 253}'/>`,
    '    </dhcp>',
    '  </ip>',
    '</network>',
    '',
  ];
  return lines.join('\n');
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export function checkNetworkName(name: string, what: string): string {
  if (!NAME.test(name)) {
    throw new UserError('NETWORK_NAME_INVALID', `${what} ${JSON.stringify(name)} is not a valid libvirt network name`, {
      fix: 'letters, digits, dots, dashes and underscores',
    });
  }
  return name;
}

export function checkBridgeName(name: string): string {
  if (name && !/^[A-Za-z0-9_.-]{1,15}$/.test(name)) {
    throw new UserError('BRIDGE_NAME_INVALID', `bridge name ${JSON.stringify(name)} is not a valid interface name`, {
      fix: 'at most 15 letters, digits, dots, dashes, underscores',
    });
  }
  return name;
}

/** `A.B.C.0` → `A.B.C`, checked. */
export function subnetPrefix(start: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0$/.exec(start);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) {
    throw new UserError('SUBNET_INVALID', `subnet start ${JSON.stringify(start)} is not an A.B.C.0 address`, { fix: 'e.g. 192.168.39.0' });
  }
  return `${m[1]}.${m[2]}.${m[3]}`;
}

/**
 * minikube's search (network.FreeSubnet): from `start`, step the third octet by 11, at most 20
 * candidates, skipping every /24 a host address, route or other libvirt network already covers.
 */
export function freeSubnet(start: string, taken: ReadonlySet<string>, step = 11, tries = 20): string | undefined {
  const [a, b, c] = subnetPrefix(start).split('.').map(Number) as [number, number, number];
  for (let i = 0, third = c; i < tries && third <= 255; i++, third += step) {
    const prefix = `${a}.${b}.${third}`;
    if (!taken.has(prefix)) return prefix;
  }
  return undefined;
}

/** /24 prefixes in use, from `ip -4 -o addr show` and `ip -4 -o route show` output. */
export function takenPrefixes(...outputs: string[]): Set<string> {
  const out = new Set<string>();
  for (const text of outputs) {
    for (const m of text.matchAll(/(?:^|\s)(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?/gm)) {
      const bits = m[5] ? Number(m[5]) : 32;
      if (m[1] === '0' || m[1] === '127') continue;
      if (bits >= 24) out.add(`${m[1]}.${m[2]}.${m[3]}`);
      else if (bits >= 16) { for (let i = 0; i < 256; i++) if (((Number(m[3]) ^ i) >> (24 - bits)) === 0) out.add(`${m[1]}.${m[2]}.${i}`); }
    }
  }
  return out;
}

export interface NetworkState {
  exists: boolean;
  active: boolean;
  autostart: boolean;
  bridge?: string;
  prefix?: string;
  address?: string;
}

/** Reads `virsh net-info NAME` and `virsh net-dumpxml NAME`. */
export function parseNetworkState(info: string, xml: string): NetworkState {
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'mi').exec(info)?.[1]?.trim();
  const ip = /<ip\b[^>]*address='([\d.]+)'/.exec(xml)?.[1];
  return {
    exists: true,
    active: field('Active') === 'yes',
    autostart: field('Autostart') === 'yes',
    ...(/<bridge\b[^>]*name='([^']+)'/.exec(xml)?.[1] ? { bridge: /<bridge\b[^>]*name='([^']+)'/.exec(xml)![1]! } : {}),
    ...(ip ? { address: ip, prefix: ip.split('.').slice(0, 3).join('.') } : {}),
  };
}

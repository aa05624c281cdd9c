// What the container-engine tasks share: which engine and socket, the labels that mark what
// kubestrap created, and IPv4 arithmetic for subnets and node addresses.
import { type Endpoint, type EngineKind, socketOf } from '../../core/engine-api.ts';
import type { ParamSpec } from '../../core/task.ts';

export const LABEL = {
  createdBy: 'io.kubestrap.created-by',
  profile: 'io.kubestrap.profile',
  role: 'io.kubestrap.role',
  runtime: 'io.kubestrap.runtime',
} as const;
export const CREATED_BY = 'kubestrap';

/** minikube's search for a profile network's /24: from 192.168.49.0, 9 apart in the third octet, 20 tries. */
export const SUBNET_SEARCH = { start: '192.168.49.0/24', step: 9, tries: 20 } as const;

export const ENGINE_PARAMS = {
  engine: { type: 'string', enum: ['docker', 'podman'], default: 'docker', description: 'the container engine' },
  socket: { type: 'string', default: '', description: "the engine's unix socket; empty: dockerHost (docker) or containerHost (podman), else the usual socket" },
  // Passed from the environment by the recipe, so the plan shows where it looks.
  dockerHost: { type: 'string', default: '', description: 'DOCKER_HOST' },
  containerHost: { type: 'string', default: '', description: 'CONTAINER_HOST' },
} as const satisfies Record<string, ParamSpec>;

export function endpoint(p: { engine: string; socket: string; dockerHost?: string; containerHost?: string }): Endpoint {
  const engine = p.engine as EngineKind;
  return { engine, socket: socketOf(engine, p.socket || undefined, (engine === 'docker' ? p.dockerHost : p.containerHost) || undefined) };
}

export function profileLabels(profile: string): Record<string, string> {
  return { [LABEL.createdBy]: CREATED_BY, [LABEL.profile]: profile };
}

export function isOurs(labels: Record<string, string> | null | undefined, profile?: string): boolean {
  if (!labels || labels[LABEL.createdBy] !== CREATED_BY) return false;
  return profile === undefined || labels[LABEL.profile] === profile;
}

// ——— IPv4 ———

export interface Cidr {
  base: number;
  bits: number;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const bits = m[2] === undefined ? 32 : Number(m[2]);
  if (bits > 32) return undefined;
  let ip: number;
  try {
    ip = ipToInt(m[1]!);
  } catch {
    return undefined;
  }
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ip & mask) >>> 0, bits };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.bits}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/** RFC 1918 space: 10/8, 172.16/12, 192.168/16. */
export function isPrivate(c: Cidr): boolean {
  return [parseCidr('10.0.0.0/8')!, parseCidr('172.16.0.0/12')!, parseCidr('192.168.0.0/16')!].some((p) => c.bits >= p.bits && overlaps(c, p));
}

/** Address number `n` of a subnet (1 is the gateway, 2 the first node, like minikube). */
export function hostAddress(subnet: string, n: number): string {
  const c = parseCidr(subnet);
  if (!c) throw new Error(`not a subnet: ${subnet}`);
  if (n < 1 || n >= 2 ** (32 - c.bits) - 1) throw new Error(`address #${n} does not fit in ${subnet}`);
  return intToIp(c.base + n);
}

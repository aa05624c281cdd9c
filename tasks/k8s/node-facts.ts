// Facts about a node read through the task context (probes and reads only). The probes are facts
// (core/facts.ts): a task that declares them gets them from the host's one gathering script.
import type { TaskContext } from '../../core/context.ts';
import { goArch } from './versions.ts';
import { commandFact, commandPresent, type FactProbe } from '../../core/facts.ts';

export const ARCH = commandFact`uname -m`;
/** The architectures kubestrap installs binaries for (goArch's answers). */
export const ARCHES = ['amd64', 'arm64'] as const;
export const CPUS = commandFact`nproc`;
const DEFAULT_ROUTE = commandFact`ip -4 -o route show default`;
const GLOBAL_ADDRESSES = commandFact`ip -4 -o addr show scope global`;
const LISTENING = commandFact`ss -Hltn`;

/** The facts ipv4Addresses reads (where ip is installed). */
export const ADDRESS_FACTS: readonly FactProbe[] = [commandPresent('ip'), DEFAULT_ROUTE, GLOBAL_ADDRESSES];
/** The facts listeningPorts reads (where ss is installed). */
export const PORT_FACTS: readonly FactProbe[] = [LISTENING];

export async function hasCommand(ctx: TaskContext, name: string): Promise<boolean> {
  return (await ctx.fact(commandPresent(name))).ok;
}

/**
 * The node's architecture. A machine that a step still has to create cannot be asked: VMs and
 * containers run this machine's architecture, so that is what the plan assumes.
 */
export async function nodeArch(ctx: TaskContext): Promise<'amd64' | 'arm64'> {
  if (ctx.createdBy) return goArch(process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch);
  return goArch((await ctx.fact(ARCH)).stdout);
}

export async function readIfExists(ctx: TaskContext, path: string): Promise<string | null> {
  return (await ctx.exists(path)) ? ctx.read(path) : null;
}

export interface Addresses {
  /** The address of the interface that holds the default route, else the first global one. */
  primary?: string;
  /** Every global (non-loopback) IPv4 address. */
  global: string[];
}

export async function ipv4Addresses(ctx: TaskContext): Promise<Addresses> {
  if (await hasCommand(ctx, 'ip')) {
    const route = await ctx.fact(DEFAULT_ROUTE);
    const dev = /\bdev\s+(\S+)/.exec(route.stdout)?.[1];
    const addrs = await ctx.fact(GLOBAL_ADDRESSES);
    const rows = addrs.stdout.split('\n').map((l) => /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\//.exec(l)).filter((m): m is RegExpExecArray => !!m);
    const global = rows.map((m) => m[2]!);
    // Inside containers an interface shows as eth0@if12.
    const primary = rows.find((m) => m[1]!.split('@')[0] === dev)?.[2] ?? global[0];
    return { ...(primary ? { primary } : {}), global };
  }
  const r = await ctx.probe`hostname -I`;
  const global = r.stdout.trim().split(/\s+/).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.'));
  return { ...(global[0] ? { primary: global[0] } : {}), global };
}

/** TCP ports something listens on: from ss, or from /proc/net/tcp{,6} where ss is missing. */
export async function listeningPorts(ctx: TaskContext): Promise<Set<number>> {
  const ports = new Set<number>();
  const ss = await ctx.fact(LISTENING);
  if (ss.ok) {
    for (const line of ss.stdout.split('\n')) {
      const local = line.trim().split(/\s+/)[3];
      const port = local ? Number(local.slice(local.lastIndexOf(':') + 1)) : NaN;
      if (Number.isInteger(port)) ports.add(port);
    }
    return ports;
  }
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readIfExists(ctx, file);
    for (const line of (text ?? '').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local) continue; // 0A: LISTEN
      ports.add(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}

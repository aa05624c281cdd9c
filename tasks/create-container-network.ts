// One bridge network per profile on a Docker or Podman engine, labelled so delete finds it, on a
// free private /24: the search starts at 192.168.49.0/24 like minikube and steps through the third
// octet, skipping every subnet that a host interface, a host route or another engine network covers.
import { UserError } from '../core/errors.ts';
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { EngineError } from '../core/engine-api.ts';
import {
  type Cidr,
  endpoint,
  ENGINE_PARAMS,
  formatCidr,
  hostAddress,
  isOurs,
  isPrivate,
  overlaps,
  parseCidr,
  profileLabels,
  SUBNET_SEARCH,
} from './container/common.ts';

interface NetworkRow {
  name: string;
  labels: Record<string, string>;
  subnets: string[];
}

export default defineTask({
  name: 'create-container-network',
  description: "Create the profile's bridge network on a container engine, on a free private subnet",
  params: {
    ...ENGINE_PARAMS,
    name: { type: 'string', default: '', description: 'network name (--network); empty: the profile' },
    subnet: { type: 'string', default: SUBNET_SEARCH.start, pattern: '\\d+\\.\\d+\\.\\d+\\.0/24', description: 'where the search for a free /24 starts' },
    subnetStep: { type: 'number', default: SUBNET_SEARCH.step, description: 'how far each try moves in the third octet' },
    subnetTries: { type: 'number', default: SUBNET_SEARCH.tries, description: 'how many subnets are tried' },
  },
  async check(ctx, p) {
    p = named(ctx, p);
    const existing = (await networks(ctx, p)).find((n) => n.name === p.name);
    return !!existing && isOurs(existing.labels, ctx.profile);
  },
  async outputs(ctx, p) {
    p = named(ctx, p);
    const existing = (await networks(ctx, p)).find((n) => n.name === p.name)!;
    return outputsOf(existing);
  },
  async run(ctx, p) {
    p = named(ctx, p);
    const ep = endpoint(p);
    const all = await networks(ctx, p);
    const existing = all.find((n) => n.name === p.name);
    if (existing) {
      // A network the user named (--network) and made themselves: used as it is, never removed by delete.
      ctx.note(
        'info',
        `using the existing ${ep.engine} network ${p.name} (${
          existing.subnets.join(', ') || 'no IPv4 subnet'
        }); kubestrap did not create it and delete leaves it`,
      );
      if (!existing.subnets.some((s) => parseCidr(s))) {
        throw new UserError('NETWORK_NO_SUBNET', `${ep.engine} network ${p.name} has no IPv4 subnet, so nodes cannot get fixed addresses on it`, {
          fix: `choose another --network, or remove ${p.name}`,
        });
      }
      return outputsOf(existing);
    }
    const search = await freeSubnet(ctx, p, all);
    if (!search.chosen) {
      throw new UserError(
        'NETWORK_NO_FREE_SUBNET',
        `no free private /24 for network ${p.name}: ${search.tried[0]} … ${
          search.tried[search.tried.length - 1]
        } (${search.tried.length} tried) overlap host interfaces, routes or ${ep.engine} networks`,
        { fix: `start the search elsewhere (--subnet 10.90.0.0/24), or remove unused networks (${ep.engine} network prune)` },
      );
    }
    const chosen = search.chosen;
    const subnet = formatCidr(chosen);
    const gateway = hostAddress(subnet, 1);
    try {
      await ctx.engine(ep, { op: 'network.create', name: p.name, subnet, gateway, labels: profileLabels(ctx.profile) });
    } catch (e) {
      if (e instanceof EngineError && /overlap|already (in )?use|is being used/i.test(e.daemonMessage)) {
        throw new UserError('NETWORK_SUBNET_TAKEN', `${subnet} was taken while kubestrap was creating network ${p.name}: ${e.daemonMessage}`, {
          fix: 'plan again: the search skips it now',
        });
      }
      throw e;
    }
    return { network: p.name, subnet, gateway };
  },
});

/** minikube's search: from `subnet`, `subnetTries` /24s `subnetStep` apart in the third octet; the first private one nothing covers. */
export async function freeSubnet(
  ctx: TaskContext,
  p: { engine: string; socket: string; subnet: string; subnetStep: number; subnetTries: number },
  all?: NetworkRow[],
): Promise<{ chosen?: Cidr; tried: string[] }> {
  const nets = all ?? (await networks(ctx, p));
  const taken = [...nets.flatMap((n) => n.subnets), ...(await hostNetworks(ctx))].map(parseCidr).filter((c): c is Cidr => !!c);
  const start = parseCidr(p.subnet);
  if (!start) throw new UserError('SUBNET_INVALID', `--subnet ${p.subnet} is not an IPv4 subnet`, { fix: 'write it like 192.168.49.0/24' });
  const tried: string[] = [];
  for (let i = 0; i < p.subnetTries; i++) {
    const third = ((start.base >>> 8) & 255) + i * p.subnetStep;
    if (third > 255) break;
    const candidate: Cidr = { base: ((start.base & 0xffff0000) >>> 0) + (third << 8), bits: 24 };
    tried.push(formatCidr(candidate));
    if (isPrivate(candidate) && !taken.some((t) => overlaps(t, candidate))) return { chosen: candidate, tried };
  }
  return { tried };
}

const named = <T extends { name: string }>(ctx: TaskContext, p: T): T => (p.name ? p : { ...p, name: ctx.profile });

async function networks(ctx: TaskContext, p: { engine: string; socket: string }): Promise<NetworkRow[]> {
  return (await ctx.engine(endpoint(p), { op: 'network.list' })).value as NetworkRow[];
}

function outputsOf(n: NetworkRow): Record<string, string> {
  const subnet = n.subnets.find((s) => parseCidr(s))!;
  return { network: n.name, subnet, gateway: hostAddress(subnet, 1) };
}

/** Subnets this machine already reaches: interface addresses and route destinations. */
async function hostNetworks(ctx: TaskContext): Promise<string[]> {
  const out: string[] = [];
  const addrs = await ctx.probe`ip -o -4 addr show`;
  for (const m of addrs.stdout.matchAll(/\binet (\d+\.\d+\.\d+\.\d+\/\d+)/g)) out.push(m[1]!);
  const routes = await ctx.probe`ip -4 route show table all`;
  for (const line of routes.stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    const dest = parseCidr(words[0] ?? '') ? words[0] : parseCidr(words[1] ?? '') ? words[1] : undefined;
    if (dest) out.push(dest);
  }
  return out;
}

// kvm2 teardown: the profile's domains (the control plane's and its workers') destroyed and undefined,
// their disks, seeds, keys and logs removed (each path listed with its size in the plan), and the
// private network removed when no other domain uses it.
// The NAT network and the downloaded image in the cache stay.
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { checkUri, DEFAULT_URI, machineDir, networkState } from './libvirt/virsh.ts';

async function domainNames(ctx: TaskContext, uri: string): Promise<string[]> {
  const list = await ctx.probe`virsh -c ${uri} list --all --name`;
  return list.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

async function domainsUsing(ctx: TaskContext, uri: string, network: string, except: readonly string[]): Promise<string[]> {
  const users: string[] = [];
  for (const d of await domainNames(ctx, uri)) {
    if (except.includes(d)) continue;
    const xml = await ctx.probe`virsh -c ${uri} dumpxml --inactive ${d}`;
    if (xml.stdout.includes(`<source network='${network}'`)) users.push(d);
  }
  return users;
}

/** One machine: its domain destroyed and undefined, then each of its files by name (the plan shows what each is and how large). */
async function deleteMachine(ctx: TaskContext, uri: string, domain: string, dir: string): Promise<void> {
  const state = await ctx.probe`virsh -c ${uri} domstate ${domain}`;
  if (state.ok) {
    if (state.stdout.trim() !== 'shut off') await ctx.$`virsh -c ${uri} destroy ${domain}`;
    await ctx.$`virsh -c ${uri} undefine ${domain}`;
  } else {
    ctx.note('info', `no domain '${domain}' on ${uri}`);
  }
  for (const f of ['disk.qcow2', 'seed.iso', 'seed', 'domain.xml', 'console.log', 'id_ed25519', 'id_ed25519.pub']) {
    if (await ctx.exists(`${dir}/${f}`)) await ctx.remove(`${dir}/${f}`);
  }
  if (await ctx.exists(dir)) await ctx.remove(dir);
}

export default defineTask({
  name: 'delete-vm',
  description: "Destroy and undefine the profile's VMs, remove their files, and the private network when no other VM uses it",
  params: {
    uri: { type: 'string', default: DEFAULT_URI },
    name: { type: 'string', default: '', description: 'the domain (empty: the profile)' },
    network: { type: 'string', default: '', description: 'the private network (empty: mk-<profile>)' },
    home: { type: 'string', default: '' },
  },
  async run(ctx, p) {
    const uri = checkUri(p.uri);
    const domain = p.name || ctx.profile;
    const network = p.network || `mk-${ctx.profile}`;
    const all = await domainNames(ctx, uri);
    // The profile's workers (PROFILE-m02 …) go with it; a domain named on its own goes alone.
    const workers = p.name ? [] : all.filter((d) => d.startsWith(`${ctx.profile}-`) && /^m\d\d$/.test(d.slice(ctx.profile.length + 1)));
    for (const d of [domain, ...workers]) await deleteMachine(ctx, uri, d, await machineDir(ctx, p.home, d));
    const net = await networkState(ctx, uri, network);
    if (net.exists) {
      const users = await domainsUsing(ctx, uri, network, [domain, ...workers]);
      if (users.length) ctx.note('info', `network '${network}' is kept: ${users.join(', ')} still use${users.length === 1 ? 's' : ''} it`);
      else {
        if (net.active) await ctx.$`virsh -c ${uri} net-destroy ${network}`;
        await ctx.$`virsh -c ${uri} net-undefine ${network}`;
      }
    }
    ctx.note('info', 'the VM image stays in the download cache for the next start');
  },
});

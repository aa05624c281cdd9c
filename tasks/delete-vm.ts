// kvm2 teardown: the domain destroyed and undefined, its disk, seed, key and logs removed (each path
// listed with its size in the plan), and the private network removed when no other domain uses it.
// The NAT network and the downloaded image in the cache stay.
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { checkUri, DEFAULT_URI, machineDir, networkState } from './libvirt/virsh.ts';

async function domainsUsing(ctx: TaskContext, uri: string, network: string, except: string): Promise<string[]> {
  const list = await ctx.probe`virsh -c ${uri} list --all --name`;
  const users: string[] = [];
  for (const d of list.stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
    if (d === except) continue;
    const xml = await ctx.probe`virsh -c ${uri} dumpxml --inactive ${d}`;
    if (xml.stdout.includes(`<source network='${network}'`)) users.push(d);
  }
  return users;
}

export default defineTask({
  name: 'delete-vm',
  description: "Destroy and undefine the profile's VM, remove its files, and its private network when no other VM uses it",
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
    const dir = await machineDir(ctx, p.home);
    const state = await ctx.probe`virsh -c ${uri} domstate ${domain}`;
    if (state.ok) {
      if (state.stdout.trim() !== 'shut off') await ctx.$`virsh -c ${uri} destroy ${domain}`;
      await ctx.$`virsh -c ${uri} undefine ${domain}`;
    } else {
      ctx.note('info', `no domain '${domain}' on ${uri}`);
    }
    // Each file by name first, so the plan shows what each one is and how large.
    for (const f of ['disk.qcow2', 'seed.iso', 'seed', 'domain.xml', 'console.log', 'id_ed25519', 'id_ed25519.pub']) {
      if (await ctx.exists(`${dir}/${f}`)) await ctx.remove(`${dir}/${f}`);
    }
    if (await ctx.exists(dir)) await ctx.remove(dir);
    const net = await networkState(ctx, uri, network);
    if (net.exists) {
      const users = await domainsUsing(ctx, uri, network, domain);
      if (users.length) ctx.note('info', `network '${network}' is kept: ${users.join(', ')} still use${users.length === 1 ? 's' : ''} it`);
      else {
        if (net.active) await ctx.$`virsh -c ${uri} net-destroy ${network}`;
        await ctx.$`virsh -c ${uri} net-undefine ${network}`;
      }
    }
    ctx.note('info', 'the VM image stays in the download cache for the next start');
  },
});

// The kvm2 network repair procedure as auditable steps: back the network's XML up, destroy and
// undefine it, delete a stale bridge whose address nothing uses, define it again (`default` from
// libvirt's NAT template when it is missing), start it, set autostart. A define or start that fails
// restores the backup: the restore is part of each command, so the plan shows it too.
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { checkBridgeName, checkNetworkName, networkXml, parseNetworkState, subnetPrefix } from './libvirt/network.ts';
import { checkUri, DEFAULT_URI, machineDir, networkNames } from './libvirt/virsh.ts';

/** $1 uri, $2 network, $3 the XML to define, $4 the backup ('' when there is none). */
export const DEFINE_SCRIPT = 'virsh -c "$1" net-define "$3" || { [ -z "$4" ] || virsh -c "$1" net-define "$4"; exit 1; }';
export const START_SCRIPT =
  'virsh -c "$1" net-start "$2" || { if [ -n "$4" ]; then virsh -c "$1" net-undefine "$2"; virsh -c "$1" net-define "$4" && virsh -c "$1" net-start "$2"; fi; exit 1; }';

interface Link {
  name: string;
  bridge: boolean;
  ports: number;
}

async function link(ctx: TaskContext, name: string): Promise<Link | undefined> {
  if (!(await ctx.exists(`/sys/class/net/${name}`))) return undefined;
  const bridge = await ctx.exists(`/sys/class/net/${name}/bridge`);
  const ports = bridge ? (await ctx.probe`ls -A ${`/sys/class/net/${name}/brif`}`).stdout.split('\n').filter(Boolean).length : 0;
  return { name, bridge, ports };
}

export default defineTask({
  name: 'repair-libvirt-network',
  description: 'Back up, destroy, undefine and redefine a libvirt network, delete a stale bridge, start it and set autostart',
  params: {
    uri: { type: 'string', default: DEFAULT_URI },
    network: { type: 'string', description: 'the network to repair' },
    subnet: { type: 'string', default: '192.168.122.0', description: "the default template's subnet, when default must be defined anew" },
    bridge: { type: 'string', default: 'virbr0', description: "the default template's bridge" },
    home: { type: 'string', default: '' },
  },
  async run(ctx, p) {
    const uri = checkUri(p.uri);
    const name = checkNetworkName(p.network, 'network');
    checkBridgeName(p.bridge);
    const dir = `${(await machineDir(ctx, p.home)).replace(/\/machine$/, '')}/network-repair`;
    const info = await ctx.probe`virsh -c ${uri} net-info ${name}`;
    const exists = info.ok;
    const current = exists ? (await ctx.probe`virsh -c ${uri} net-dumpxml --inactive ${name}`).stdout : '';
    const state = exists ? parseNetworkState(info.stdout, current) : { exists: false, active: false, autostart: false };
    // One fixed name, so the plan and its run agree; an earlier backup is itself backed up when overwritten.
    const backup = exists ? `${dir}/${name}.backup.xml` : '';
    if (exists) await ctx.write(backup, current, { mode: '0600' });
    // default is redefined from libvirt's NAT template; another network from its own definition.
    let definition: string;
    if (name === 'default' || !exists) {
      const prefix = state.prefix ?? subnetPrefix(p.subnet);
      definition = networkXml({ name, prefix, nat: true, bridge: state.bridge ?? p.bridge });
    } else definition = current;
    const file = `${dir}/${name}.xml`;
    await ctx.write(file, definition, { mode: '0644' });
    if (state.active) await ctx.$`virsh -c ${uri} net-destroy ${name}`;
    if (exists) await ctx.$`virsh -c ${uri} net-undefine ${name}`;

    // A stale bridge: the network's own bridge still there once the network is down, or another bridge
    // holding the network's address; deleted only when no port uses it and no active network owns it.
    const wanted = parseNetworkState('', definition);
    const candidates = new Set<string>();
    if (wanted.bridge && !state.active) candidates.add(wanted.bridge);
    if (wanted.address) {
      const holder = /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\//m;
      for (const l of (await ctx.probe`ip -4 -o addr show`).stdout.split('\n')) {
        const m = holder.exec(l.trim());
        if (m && m[2] === wanted.address && m[1] !== wanted.bridge) candidates.add(m[1]!);
      }
    }
    const activeBridges = new Set<string>();
    for (const n of await networkNames(ctx, uri)) {
      if (n === name) continue;
      const s = parseNetworkState((await ctx.probe`virsh -c ${uri} net-info ${n}`).stdout, (await ctx.probe`virsh -c ${uri} net-dumpxml ${n}`).stdout);
      if (s.active && s.bridge) activeBridges.add(s.bridge);
    }
    for (const c of candidates) {
      const l = await link(ctx, c);
      if (!l) continue;
      if (!l.bridge) {
        ctx.note(
          'warn',
          `${c} holds ${wanted.address} but is not a bridge: kubestrap leaves it alone`,
          `free the address on ${c}, or repair with another subnet`,
        );
        continue;
      }
      if (l.ports || activeBridges.has(c)) {
        ctx.note(
          'warn',
          `bridge ${c} holds the network's address but is in use (${l.ports} port${l.ports === 1 ? '' : 's'}${
            activeBridges.has(c) ? ', an active network' : ''
          }): kubestrap leaves it alone`,
          `remove what uses ${c}`,
        );
        continue;
      }
      await ctx.sudo`ip link delete ${c}`;
    }

    await ctx.$`sh -c ${DEFINE_SCRIPT} repair ${uri} ${name} ${file} ${backup}`;
    await ctx.$`sh -c ${START_SCRIPT} repair ${uri} ${name} ${file} ${backup}`;
    await ctx.$`virsh -c ${uri} net-autostart ${name}`;
    return { network: name, backup };
  },
});

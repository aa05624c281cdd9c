// `kubestrap doctor --driver kvm2`: minikube's kvm2 troubleshooting list, automated and read-only.
// libvirt group membership, `virsh domcapabilities --virttype kvm`, virt-host-validate, `virsh uri`,
// each network's active/autostart state, each bridge against the host's interfaces, qemu.conf's
// dynamic_ownership, and a firewall that drops the VMs' DHCP. Every finding says what to do; every
// probe has a timeout.
import { defineTask } from '../core/task.ts';
import { parseNetworkState } from './libvirt/network.ts';
import { DEFAULT_URI } from './libvirt/virsh.ts';

const KVM_DRIVERS = new Set(['kvm2', 'kvm']);

export type BridgeVerdict = 'match' | 'absent' | 'down' | 'other-interface' | 'wrong-address';

/** A network's bridge and gateway address against `ip -4 -o addr show`: who holds the address, and what the bridge holds. */
export function bridgeVerdict(bridge: string, address: string, addrs: string): { verdict: BridgeVerdict; holder?: string; has?: string } {
  const rows = addrs.split('\n').map((l) => /^\d+:\s+(\S+)\s+inet\s+([\d.]+)\/(\d+)/.exec(l.trim())).filter((m): m is RegExpExecArray => !!m);
  const holder = rows.find((m) => m[2] === address)?.[1];
  const has = rows.find((m) => m[1] === bridge)?.[2];
  if (holder === bridge) return { verdict: 'match' };
  if (holder) return { verdict: 'other-interface', holder };
  if (has) return { verdict: 'wrong-address', has };
  return { verdict: 'absent' };
}

/** The first INPUT rule that drops DHCP (udp 67) before libvirt's own accept rules, from `iptables -S INPUT`. */
export function dhcpDrop(rules: string): string | undefined {
  let policyDrop = false;
  for (const line of rules.split('\n').map((l) => l.trim())) {
    if (/^-P INPUT (DROP|REJECT)/.test(line)) {
      policyDrop = true;
      continue;
    }
    if (/-j LIBVIRT_INP\b/.test(line)) return undefined;
    if (/-j (ACCEPT)\b/.test(line) && /--dport 67\b/.test(line)) return undefined;
    const drops = /-j (DROP|REJECT)\b/.test(line);
    const udp67 = /-p udp\b/.test(line) && /--dport 67\b/.test(line);
    const all = !/-p |--dport|-s |-d |-m /.test(line.replace(/^-A INPUT\s+/, '').replace(/-i \S+\s*/, '').replace(/-j \S+.*/, ''));
    if (drops && (udp67 || all)) return line;
  }
  return policyDrop ? '-P INPUT DROP (and no rule accepts DHCP before it)' : undefined;
}

/** A probe's output and the last line of its error, without virsh's "error:" prefix. */
async function lines(r: Promise<{ ok: boolean; stdout: string; stderr: string }>): Promise<{ ok: boolean; out: string; err: string }> {
  const x = await r;
  return { ok: x.ok, out: x.stdout, err: (x.stderr.trim().split('\n').pop() ?? '').replace(/^error:\s*/, '') };
}

export default defineTask({
  name: 'check-libvirt',
  description: "The kvm2 driver's troubleshooting checks: libvirt access, KVM, networks, bridges, qemu.conf, firewall (read-only)",
  params: {
    driver: { type: 'string', default: 'kvm2', description: 'checks run for kvm2 (or kvm) only, so doctor can always include this step' },
    uri: { type: 'string', default: '', description: 'libvirt connection (empty: qemu:///system)' },
    qemuConf: { type: 'string', default: '/etc/libvirt/qemu.conf' },
  },
  async run(ctx, p) {
    if (!KVM_DRIVERS.has(p.driver)) return { checked: false };
    const uri = p.uri || DEFAULT_URI;
    const findings: string[] = [];
    const warn = (id: string, message: string, fix: string) => {
      findings.push(id);
      ctx.note('warn', message, fix);
    };
    const facts = await ctx.facts();

    // Group membership: without it every virsh call goes through polkit and asks for a password.
    if (facts.uid !== 0) {
      const groups = (await ctx.probe`timeout 5 id -nG`).stdout.split(/\s+/);
      const listed = (await ctx.probe`timeout 5 getent group libvirt`).stdout;
      const inGroup = groups.includes('libvirt');
      const added = listed.split(':')[3]?.split(',').map((s) => s.trim()).includes(facts.user) ?? false;
      if (!inGroup && added) {
        warn(
          'group-not-active',
          `${facts.user} was added to the libvirt group, but this session does not have it yet`,
          'log out and in again (or run newgrp libvirt)',
        );
      } else if (!inGroup) {
        warn(
          'group',
          `${facts.user} is not in the libvirt group: each virsh call asks for a password (polkit), again and again`,
          `sudo usermod -aG libvirt ${facts.user}, then log in again`,
        );
      } else ctx.note('info', `${facts.user} is in the libvirt group`);
    }

    const uriNow = await lines(ctx.probe`timeout 10 virsh -c ${uri} uri`);
    if (!uriNow.ok) {
      warn(
        'unreachable',
        `libvirt does not answer on ${uri}: ${uriNow.err}`,
        'start it: sudo systemctl start libvirtd (without systemd: sudo virtlogd -d && sudo libvirtd -d)',
      );
      return { checked: true, findings };
    }
    ctx.note('info', `virsh connects to ${uriNow.out.trim()}`);
    const plainUri = (await ctx.probe`timeout 10 virsh uri`).stdout.trim();
    if (plainUri && plainUri !== uriNow.out.trim()) {
      ctx.note(
        'info',
        `plain virsh (no -c) connects to ${plainUri}, not ${uri}: what you see with virsh by hand differs from what kubestrap uses`,
        `export LIBVIRT_DEFAULT_URI=${uri}`,
      );
    }

    const caps = await lines(ctx.probe`timeout 10 virsh -c ${uri} domcapabilities --virttype kvm`);
    if (!caps.ok) {
      warn(
        'no-kvm',
        `libvirt cannot create KVM domains: ${caps.err}`,
        'load kvm_intel or kvm_amd and check /dev/kvm; kubestrap falls back to TCG emulation (slow)',
      );
    } else ctx.note('info', 'libvirt offers KVM domains (virsh domcapabilities --virttype kvm)');

    const validate = await ctx.probe`timeout 30 virt-host-validate qemu`;
    for (const line of validate.stdout.split('\n')) {
      const m = /^\s*QEMU:\s*(.+?)\s*:\s*(FAIL|WARN)\s*(?:\((.*)\))?\s*$/.exec(line);
      if (m) warn(`validate:${m[1]}`, `virt-host-validate: ${m[1]}: ${m[2]}`, m[3] ?? 'see virt-host-validate qemu');
    }

    const addrs = (await ctx.probe`timeout 5 ip -4 -o addr show`).stdout;
    const names = (await ctx.probe`timeout 10 virsh -c ${uri} net-list --all --name`).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    if (!names.includes('default')) {
      warn(
        'no-default',
        `libvirt has no 'default' network on ${uri}`,
        "kubestrap run repair-kvm-network --set network=default defines it from libvirt's template",
      );
    }
    for (const name of names) {
      const info = await ctx.probe`timeout 10 virsh -c ${uri} net-info ${name}`;
      const xml = await ctx.probe`timeout 10 virsh -c ${uri} net-dumpxml --inactive ${name}`;
      const s = parseNetworkState(info.stdout, xml.stdout);
      const repair = `kubestrap run repair-kvm-network --set network=${name}`;
      if (!s.active) warn(`inactive:${name}`, `network '${name}' is not active`, `virsh -c ${uri} net-start ${name}, or ${repair}`);
      if (!s.autostart) warn(`no-autostart:${name}`, `network '${name}' does not start with libvirt`, `virsh -c ${uri} net-autostart ${name}`);
      if (!s.bridge || !s.address) continue;
      const b = bridgeVerdict(s.bridge, s.address, addrs);
      if (b.verdict === 'other-interface') {
        warn(
          `bridge:${name}`,
          `network '${name}': its address ${s.address} is held by ${b.holder}, not its bridge ${s.bridge} (a stale bridge or another network holds the subnet)`,
          repair,
        );
      } else if (b.verdict === 'wrong-address') warn(`bridge:${name}`, `network '${name}': bridge ${s.bridge} has ${b.has}, not ${s.address}`, repair);
      else if (b.verdict === 'absent' && s.active) {
        warn(`bridge:${name}`, `network '${name}' is active but no interface has ${s.address} (bridge ${s.bridge} is gone)`, repair);
      } else if (b.verdict === 'match' && !s.active) {
        warn(
          `bridge:${name}`,
          `network '${name}' is not active, yet its bridge ${s.bridge} exists with ${s.address}: a stale bridge, libvirt cannot start the network over it`,
          repair,
        );
      } else if (b.verdict === 'match') ctx.note('info', `network '${name}': bridge ${s.bridge} has ${s.address}`);
    }

    if (await ctx.exists(p.qemuConf)) {
      const conf = await ctx.read(p.qemuConf);
      const v = /^\s*dynamic_ownership\s*=\s*(\d+)/m.exec(conf)?.[1];
      if (v === '0') {
        warn(
          'dynamic-ownership',
          `${p.qemuConf} sets dynamic_ownership = 0: qemu cannot open the VM's disk ("Permission denied")`,
          `set dynamic_ownership = 1 in ${p.qemuConf} and restart libvirtd`,
        );
      }
    }

    const fw = await ctx.probe`timeout 5 iptables -S INPUT`;
    if (!fw.ok) ctx.note('info', 'could not read the firewall (iptables -S INPUT needs root): run doctor as root to check that DHCP reaches libvirt');
    else {
      const drop = dhcpDrop(fw.stdout);
      if (drop) {
        warn(
          'firewall-dhcp',
          `the firewall drops the VMs' DHCP requests before libvirt's rules: ${drop}`,
          'allow udp port 67 on the libvirt bridges (e.g. sudo iptables -I INPUT -i virbr+ -p udp --dport 67 -j ACCEPT), or remove that rule',
        );
      }
    }
    if (!findings.length) ctx.note('info', 'the kvm2 checks found nothing to fix');
    return { checked: true, findings };
  },
});

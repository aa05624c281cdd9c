// What the libvirt tasks read through virsh (probes) and where a profile's machine files live.
import type { TaskContext } from '../../core/context.ts';
import { UserError } from '../../core/errors.ts';
import { dirListing } from '../../core/facts.ts';
import { type NetworkState, parseNetworkState } from './network.ts';

export const DEFAULT_URI = 'qemu:///system';

/** qemu:///session has no networks kubestrap can create (no bridges, no dnsmasq without root). */
export function checkUri(uri: string): string {
  if (/^qemu(\+\w+)?:\/\/[^/]*\/session/.test(uri)) {
    throw new UserError('PR_KVM_SESSION_URI', `libvirt ${uri} (a user session) cannot create the bridges and DHCP the kvm2 driver needs`, {
      fix: 'use --kvm-qemu-uri qemu:///system and add your user to the libvirt group (sudo usermod -aG libvirt $USER, then log in again)',
    });
  }
  return uri;
}

export async function networkState(ctx: TaskContext, uri: string, name: string): Promise<NetworkState> {
  const info = await ctx.probe`virsh -c ${uri} net-info ${name}`;
  if (!info.ok) return { exists: false, active: false, autostart: false };
  const xml = await ctx.probe`virsh -c ${uri} net-dumpxml --inactive ${name}`;
  return parseNetworkState(info.stdout, xml.stdout);
}

export async function networkNames(ctx: TaskContext, uri: string): Promise<string[]> {
  const r = await ctx.probe`virsh -c ${uri} net-list --all --name`;
  return r.ok ? r.stdout.split('\n').map((s) => s.trim()).filter(Boolean) : [];
}

/**
 * $KUBESTRAP_HOME (or ~/.kubestrap) on the step's host, and the machine directory in the profile's:
 * `machine` for the profile's own (control-plane) machine, `machine-m02` for its worker PROFILE-m02.
 */
export async function machineDir(ctx: TaskContext, home: string, domain = ctx.profile): Promise<string> {
  const base = home || `${(await ctx.facts()).home}/.kubestrap`;
  const node = domain === ctx.profile ? '' : `-${domain.startsWith(`${ctx.profile}-`) ? domain.slice(ctx.profile.length + 1) : domain}`;
  return `${base}/profiles/${ctx.profile}/machine${node}`;
}

/** The workers' machine directories the profile has (machine-m02 …), with their node names (m02 …). */
export async function workerMachineDirs(ctx: TaskContext, home: string): Promise<{ node: string; dir: string }[]> {
  const own = await machineDir(ctx, home);
  const profileDir = own.slice(0, own.lastIndexOf('/'));
  const names = (await ctx.fact(dirListing(profileDir))).stdout.split('\n').filter((f) => /^machine-m\d\d$/.test(f)).sort();
  return names.map((f) => ({ node: f.slice('machine-'.length), dir: `${profileDir}/${f}` }));
}

/** Lets libvirt know the connection works; a plan on a machine without it still shows every step. */
export async function reachLibvirt(ctx: TaskContext, uri: string): Promise<boolean> {
  const r = await ctx.probe`virsh -c ${uri} uri`;
  if (r.ok) return true;
  ctx.block(
    'PR_KVM_LIBVIRT_UNREACHABLE',
    `libvirt at ${uri} does not answer: ${(r.stderr.trim().split('\n').pop() ?? '').replace(/^error:\s*/, '') || 'virsh failed'}`,
    'install and start it (sudo apt-get install libvirt-daemon-system; sudo systemctl start libvirtd), and check with kubestrap doctor --driver kvm2',
  );
  return false;
}

// The kvm2 driver's machine (minikube's Create/Start): the image downloaded into the cache and
// verified, a qcow2 disk over it, a cloud-init NoCloud seed (user, the profile's SSH key, hostname),
// the domain defined and started, its IP from the private network's DHCP lease for its MAC, and SSH
// answering with the key. The outputs are the host the rest of the graph runs on.
import type { TaskContext } from '../core/context.ts';
import { ExecError, UserError } from '../core/errors.ts';
import { defineTask } from '../core/task.ts';
import { domainMacs, domainXml } from './libvirt/domain.ts';
import { eligibleGpus, parsePci, PCI_SCRIPT } from './libvirt/gpu.ts';
import { checkNetworkName } from './libvirt/network.ts';
import { checkUri, DEFAULT_URI, machineDir, networkState, reachLibvirt } from './libvirt/virsh.ts';
import { cachedImage, machineSeed, overlayDisk, WAIT_SSH_SCRIPT } from './vm/machine-files.ts';
import { MachineError } from './vm/machine-error.ts';
import { sizeMiB } from './vm/size.ts';

/** Prints the IPv4 address of MAC's lease on NET, polling every 2 s; exit 3 with the lease table on stderr at the deadline. */
export const WAIT_IP_SCRIPT = `end=$(( $(date +%s) + $4 ))
while :; do
  ip=$(virsh -c "$1" net-dhcp-leases "$2" --mac "$3" 2>/dev/null | awk '$4 == "ipv4" { sub(/\\/.*/, "", $5); print $5; exit }')
  if [ -n "$ip" ]; then echo "$ip"; exit 0; fi
  if [ "$(date +%s)" -ge "$end" ]; then virsh -c "$1" net-dhcp-leases "$2" >&2; exit 3; fi
  sleep 2
done`;

const PARAMS = {
  uri: { type: 'string', default: DEFAULT_URI, description: 'libvirt connection (--kvm-qemu-uri)' },
  name: { type: 'string', default: '', description: 'the domain (empty: the profile)' },
  network: { type: 'string', default: '', description: 'the private network (empty: mk-<profile>)' },
  kvmNetwork: { type: 'string', default: 'default', description: 'the NAT network (--kvm-network)' },
  cpus: { type: 'number', default: 2 },
  memory: { type: 'number', default: 2200, description: 'MiB' },
  diskSize: { type: 'string', default: '20000mb' },
  imageUrl: { type: 'string', default: '', description: 'a qcow2 (or raw) cloud image with cloud-init (empty: the default image)' },
  imageSha256: { type: 'string', default: '', description: 'its sha256 (else looked up in imageChecksumUrl)' },
  imageChecksumUrl: { type: 'string', default: '', description: "a SHA256SUMS file naming the image (default: the default image's)" },
  user: { type: 'string', default: 'docker', pattern: '[a-z_][a-z0-9_-]{0,31}', description: 'the user cloud-init creates, with sudo' },
  gpu: { type: 'boolean', default: false, description: '--kvm-gpu: pass eligible NVIDIA devices through' },
  hidden: { type: 'boolean', default: false, description: '--kvm-hidden: hide the hypervisor from the guest' },
  kernel: { type: 'string', default: '', description: 'direct boot: a kernel on this machine (images without a bootloader)' },
  initrd: { type: 'string', default: '' },
  cmdline: { type: 'string', default: '' },
  kvm: { type: 'string', default: '', description: "check-virt's verdict on KVM (usable, unusable, …)" },
  virtType: { type: 'string', enum: ['auto', 'kvm', 'qemu'], default: 'auto' },
  home: { type: 'string', default: '', description: 'KUBESTRAP_HOME (empty: ~/.kubestrap)' },
  ipTimeout: { type: 'number', default: 120, description: 'seconds to wait for the DHCP lease' },
  sshTimeout: { type: 'number', default: 300, description: 'seconds to wait for SSH' },
} as const;

interface Names {
  domain: string;
  network: string;
  dir: string;
  key: string;
  macs: [string, string];
}

async function names(ctx: TaskContext, p: { name: string; network: string; home: string }): Promise<Names> {
  const domain = p.name || ctx.profile;
  const dir = await machineDir(ctx, p.home, domain);
  return { domain, network: p.network || `mk-${ctx.profile}`, dir, key: `${dir}/id_ed25519`, macs: domainMacs(domain) };
}

async function domState(ctx: TaskContext, uri: string, domain: string): Promise<string> {
  const r = await ctx.probe`virsh -c ${uri} domstate ${domain}`;
  return r.ok ? r.stdout.trim() : 'missing';
}

async function leaseOf(ctx: TaskContext, uri: string, network: string, mac: string): Promise<string | undefined> {
  const r = await ctx.probe`virsh -c ${uri} net-dhcp-leases ${network} --mac ${mac}`;
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === 'ipv4' && f[2]?.toLowerCase() === mac) return f[4]!.replace(/\/.*/, '');
  }
  return undefined;
}

/** minikube's ensureDirPermissions: libvirt's qemu user must get through every directory the user owns. */
async function traversable(ctx: TaskContext, paths: string[]): Promise<void> {
  const { uid } = await ctx.facts();
  const dirs = new Set<string>();
  for (const path of paths) for (let d = path; d !== '/' && d !== ''; d = d.slice(0, d.lastIndexOf('/')) || '/') dirs.add(d);
  const list = [...dirs].sort();
  const r = await ctx.probe`stat -c ${'%u %a %n'} ${list}`;
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+) ([0-7]+) (.+)$/.exec(line.trim());
    if (!m || Number(m[1]) !== uid) continue;
    if ((Number.parseInt(m[2]!, 8) & 0o001) === 0) await ctx.$`chmod o+x ${m[3]!}`;
  }
}

export default defineTask({
  name: 'provision-vm',
  description: 'Create and start the libvirt VM (disk, cloud-init seed, SSH key), wait for its IP and SSH',
  params: PARAMS,
  async check(ctx, p) {
    const n = await names(ctx, p);
    return (await domState(ctx, p.uri, n.domain)) === 'running' && (await ctx.exists(n.key)) && (await leaseOf(ctx, p.uri, n.network, n.macs[0])) !== undefined;
  },
  async outputs(ctx, p) {
    const n = await names(ctx, p);
    return { address: (await leaseOf(ctx, p.uri, n.network, n.macs[0])) ?? '', sshKey: n.key, sshUser: p.user, sshPort: 22, domain: n.domain, mac: n.macs[0] };
  },
  async run(ctx, p) {
    const uri = checkUri(p.uri);
    const n = await names(ctx, p);
    checkNetworkName(n.network, 'network');
    checkNetworkName(p.kvmNetwork, '--kvm-network');
    if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(n.domain)) throw new UserError('USAGE', `domain name ${JSON.stringify(n.domain)} is not valid`);
    if (!Number.isInteger(p.cpus) || p.cpus < 1) throw new UserError('USAGE', `--cpus ${p.cpus} must be a whole number ≥ 1`);
    if (!Number.isInteger(p.memory) || p.memory < 256) throw new UserError('USAGE', `--memory ${p.memory} must be at least 256 (MiB)`);
    const diskMiB = sizeMiB(p.diskSize, '--disk-size');
    await reachLibvirt(ctx, uri);
    // The networks come from create-libvirt-network: in a plan they may still be planned, in a run they must be there.
    for (const [net, flag] of [[n.network, '--network'], [p.kvmNetwork, '--kvm-network']] as const) {
      if (ctx.mode === 'run' && !(await networkState(ctx, uri, net)).exists) {
        throw new UserError('PR_KVM_MISSING_NETWORK', `libvirt network '${net}' (${flag}) does not exist`, {
          fix: `kubestrap run repair-kvm-network --set network=${net} defines it (for default: from libvirt's template), or pass another ${flag}`,
        });
      }
    }

    const type = p.virtType !== 'auto' ? p.virtType : p.kvm === 'usable' ? 'kvm' : 'qemu';
    if (type === 'qemu') {
      ctx.note(
        'warn',
        `the VM runs under TCG emulation (type='qemu')${
          p.kvm ? ` because KVM is ${p.kvm} here` : ''
        }: many times slower than KVM, expect minutes to boot and to install`,
        'on a machine with VT-x/AMD-V (or nested virtualization), KVM is used automatically',
      );
    }
    let gpus: string[] = [];
    if (p.gpu) {
      const pci = parsePci((await ctx.probe`sh -c ${PCI_SCRIPT}`).stdout);
      const { ok, skipped } = eligibleGpus(pci.devices);
      for (const s of skipped) {
        ctx.note('warn', `NVIDIA device ${s.device.address} is not passed through: ${s.why}`, 'bind it (and its IOMMU group) to vfio-pci');
      }
      if (!pci.iommu) {
        ctx.block(
          'PR_KVM_NO_IOMMU',
          '--kvm-gpu needs IOMMU groups (/sys/kernel/iommu_groups is empty)',
          'enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (or amd_iommu=on)',
        );
      } else if (!ok.length) {
        ctx.block('PR_KVM_NO_GPU', '--kvm-gpu: no NVIDIA device can be passed through', 'bind the GPU to vfio-pci (and every device in its IOMMU group)');
      }
      gpus = ok.map((d) => d.address);
    }

    const state = await domState(ctx, uri, n.domain);
    const disk = `${n.dir}/disk.qcow2`;
    const seed = `${n.dir}/seed.iso`;
    if (state === 'missing') {
      const image = await cachedImage(ctx, p);
      if (!(await ctx.exists(n.dir))) await ctx.$`mkdir -p ${n.dir}`;
      await traversable(ctx, [
        n.dir,
        image.slice(0, image.lastIndexOf('/')),
        ...[p.kernel, p.initrd].filter(Boolean).map((f) => f.slice(0, f.lastIndexOf('/'))),
      ]);
      await machineSeed(ctx, n.dir, { hostname: n.domain, user: p.user, mac: n.macs[0] });
      await overlayDisk(ctx, image, disk, diskMiB);
      const xml = domainXml({
        name: n.domain,
        type,
        memoryMiB: p.memory,
        cpus: p.cpus,
        disk,
        seed,
        consoleLog: `${n.dir}/console.log`,
        network: n.network,
        kvmNetwork: p.kvmNetwork,
        macs: n.macs,
        hidden: p.hidden,
        gpus,
        ...(p.kernel ? { kernel: p.kernel, initrd: p.initrd, cmdline: p.cmdline } : {}),
      });
      await ctx.write(`${n.dir}/domain.xml`, xml, { mode: '0644' });
      await ctx.$`virsh -c ${uri} define ${`${n.dir}/domain.xml`}`;
    }
    if (state !== 'running') await ctx.$`virsh -c ${uri} start ${n.domain}`;

    let address: string;
    try {
      address = (await ctx.$`sh -c ${WAIT_IP_SCRIPT} wait-ip ${uri} ${n.network} ${n.macs[0]} ${p.ipTimeout}`).stdout.trim();
    } catch (e) {
      if (!(e instanceof ExecError) || e.exitCode !== 3) throw e;
      const leases = e.stderr.split('\n').slice(2).map((l) => l.trim()).filter(Boolean);
      const bridge = (await networkState(ctx, uri, n.network)).bridge ?? n.network;
      throw new MachineError(
        'PR_KVM_NO_IP',
        `Machine didn't return an IP after ${p.ipTimeout} seconds (MAC ${n.macs[0]} on network '${n.network}'; leases: ${
          leases.length ? leases.join('; ') : 'none'
        })`,
        `a firewall dropping DHCP (udp 67/68) on ${bridge} is the usual cause: kubestrap doctor --driver kvm2 checks it; the console log is ${n.dir}/console.log`,
      );
    }
    try {
      await ctx.$`sh -c ${WAIT_SSH_SCRIPT} wait-ssh ${n.key} ${p.user} ${address} ${p.sshTimeout} 22`;
    } catch (e) {
      if (!(e instanceof ExecError) || e.exitCode !== 3) throw e;
      throw new MachineError(
        'PR_KVM_NO_SSH',
        `${n.domain} at ${address} did not accept SSH with ${n.key} within ${p.sshTimeout} seconds`,
        `read the console log ${n.dir}/console.log (cloud-init must have created user ${p.user})`,
      );
    }
    return { address, sshKey: n.key, sshUser: p.user, sshPort: 22, domain: n.domain, mac: n.macs[0] };
  },
});

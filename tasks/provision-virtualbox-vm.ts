// The virtualbox driver's machine as a plan of VBoxManage commands: the same image, key and seed as
// kvm2 (the image converted to VDI), NAT with forwards on 127.0.0.1 for SSH and the API server;
// with more than one node, a second NIC on the profile's internal network (tasks/vm/cluster-network.ts).
// VirtualBox cannot be installed on the machines this is developed on, so only the plan is tested.
// KVM loaded at the same time blocks the plan: VirtualBox cannot start a VM then (minikube #4913).
import type { TaskContext } from '../core/context.ts';
import { ExecError, UserError } from '../core/errors.ts';
import { defineTask } from '../core/task.ts';
import { domainMacs } from './libvirt/domain.ts';
import { machineDir } from './libvirt/virsh.ts';
import { MachineError } from './vm/machine-error.ts';
import { cachedImage, machineSeed, WAIT_SSH_SCRIPT } from './vm/machine-files.ts';
import { sizeMiB } from './vm/size.ts';
import { CLUSTER_PARAMS, clusterOutputs, forwardPorts, internalNetwork, seedNics } from './vm/cluster-network.ts';

const FIRST_PORT = 43022;

async function kvmLoaded(ctx: TaskContext): Promise<string | undefined> {
  for (const m of ['kvm_intel', 'kvm_amd']) if (await ctx.exists(`/sys/module/${m}`)) return m;
  return undefined;
}

export default defineTask({
  name: 'provision-virtualbox-vm',
  description: 'Create and start a VirtualBox VM with VBoxManage (NAT, forwards for SSH and the API server)',
  params: {
    name: { type: 'string', default: '' },
    cpus: { type: 'number', default: 2 },
    memory: { type: 'number', default: 2200 },
    diskSize: { type: 'string', default: '20000mb' },
    imageUrl: { type: 'string', default: '' },
    imageSha256: { type: 'string', default: '' },
    imageChecksumUrl: { type: 'string', default: '' },
    user: { type: 'string', default: 'docker', pattern: '[a-z_][a-z0-9_-]{0,31}' },
    apiserverPort: { type: 'number', default: 8443 },
    home: { type: 'string', default: '' },
    sshTimeout: { type: 'number', default: 300 },
    ...CLUSTER_PARAMS,
  },
  async run(ctx, p) {
    const name = p.name || ctx.profile;
    if (!Number.isInteger(p.cpus) || p.cpus < 1) throw new UserError('USAGE', `--cpus ${p.cpus} must be a whole number ≥ 1`);
    const diskMiB = sizeMiB(p.diskSize, '--disk-size');
    const dir = await machineDir(ctx, p.home, name);
    const key = `${dir}/id_ed25519`;
    if (!(await ctx.probe`sh -c ${'command -v VBoxManage'}`).ok) {
      ctx.block(
        'DRV_VIRTUALBOX_MISSING',
        'VBoxManage is not installed',
        'install VirtualBox from virtualbox.org (Debian does not package it), or use --driver kvm2 or qemu',
      );
    }
    const kvm = await kvmLoaded(ctx);
    if (kvm) {
      ctx.block(
        'DRV_VIRTUALBOX_KVM_CONFLICT',
        `the ${kvm} module is loaded: VirtualBox cannot start a VM while KVM holds the CPU's virtualization (VT-x is being used by another hypervisor)`,
        `use --driver kvm2, or unload KVM first: sudo modprobe -r ${kvm} kvm`,
      );
    }
    const [sshPort, cpApiPort] = (await forwardPorts(ctx, FIRST_PORT, 2, p.index)) as [number, number];
    // Only the control plane's API server is forwarded.
    const apiPort = p.index === 0 ? cpApiPort : 0;
    ctx.listen(sshPort, { address: '127.0.0.1', component: `VirtualBox NAT forward to ${name}:22 (SSH)` });
    if (apiPort) ctx.listen(apiPort, { address: '127.0.0.1', component: `VirtualBox NAT forward to ${name}:${p.apiserverPort} (API server)` });

    const image = await cachedImage(ctx, p);
    if (!(await ctx.exists(dir))) await ctx.$`mkdir -p ${dir}`;
    const [mac, clusterMac] = domainMacs(name);
    const nics = seedNics(p, mac, clusterMac);
    const seed = await machineSeed(ctx, dir, { hostname: name, user: p.user, mac, ...(nics ? { nics } : {}) });
    const vboxMac = (m: string) => m.replace(/:/g, '').toUpperCase();
    const forwards = [`ssh,tcp,127.0.0.1,${sshPort},,22`, ...(apiPort ? [`apiserver,tcp,127.0.0.1,${apiPort},,${p.apiserverPort}`] : [])];
    const nic2 = nics ? ['--nic2', 'intnet', '--nictype2', 'virtio', '--intnet2', internalNetwork(ctx.profile), '--macaddress2', vboxMac(clusterMac)] : [];
    const disk = `${dir}/disk.vdi`;
    await ctx.$`qemu-img convert -O vdi ${image} ${disk}`;
    await ctx.$`VBoxManage modifymedium disk ${disk} --resize ${diskMiB}`;
    await ctx.$`VBoxManage createvm --name ${name} --ostype Ubuntu_64 --basefolder ${dir} --register`;
    await ctx
      .$`VBoxManage modifyvm ${name} --cpus ${p.cpus} --memory ${p.memory} --acpi on --ioapic on --rtcuseutc on --boot1 disk --boot2 none --audio-driver none --nic1 nat --nictype1 virtio --macaddress1 ${
      vboxMac(mac)
    } ${[...forwards.flatMap((f) => ['--natpf1', f]), ...nic2]} --uart1 0x3F8 4 --uartmode1 file ${`${dir}/console.log`}`;
    await ctx.$`VBoxManage storagectl ${name} --name SATA --add sata --controller IntelAhci --portcount 2 --hostiocache on`;
    await ctx.$`VBoxManage storageattach ${name} --storagectl SATA --port 0 --device 0 --type hdd --medium ${disk}`;
    await ctx.$`VBoxManage storageattach ${name} --storagectl SATA --port 1 --device 0 --type dvddrive --medium ${seed}`;
    await ctx.$`VBoxManage startvm ${name} --type headless`;
    try {
      await ctx.$`sh -c ${WAIT_SSH_SCRIPT} wait-ssh ${key} ${p.user} 127.0.0.1 ${p.sshTimeout} ${sshPort}`;
    } catch (e) {
      if (!(e instanceof ExecError) || e.exitCode !== 3) throw e;
      throw new MachineError(
        'VBOX_NO_SSH',
        `${name} did not accept SSH on 127.0.0.1:${sshPort} within ${p.sshTimeout} seconds`,
        `read the console log ${dir}/console.log`,
      );
    }
    return { address: '127.0.0.1', ...clusterOutputs(p), sshPort, apiPort, sshKey: key, sshUser: p.user };
  },
});

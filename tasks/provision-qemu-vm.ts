// The qemu driver's machine: the same disk, key and seed as kvm2, started with qemu-system directly
// (no libvirt), on user-mode networking with host forwards on 127.0.0.1 for SSH and the API server.
// With more than one node, each VM also has a NIC on the profile's bus (tasks/vm/cluster-network.ts).
// qemu daemonizes and keeps its pid file in the machine directory, where delete finds it.
import type { TaskContext } from '../core/context.ts';
import { ExecError, UserError } from '../core/errors.ts';
import { defineTask } from '../core/task.ts';
import { domainMacs } from './libvirt/domain.ts';
import { machineDir } from './libvirt/virsh.ts';
import { MachineError } from './vm/machine-error.ts';
import { cachedImage, machineSeed, overlayDisk, WAIT_SSH_SCRIPT } from './vm/machine-files.ts';
import { sizeMiB } from './vm/size.ts';
import { busNetdev, busOf, CLUSTER_PARAMS, clusterOutputs, forwardPorts, seedNics } from './vm/cluster-network.ts';

/** Host ports are picked from here up, skipping ports something listens on. */
const FIRST_PORT = 42022;

export interface QemuMachine {
  sshPort: number;
  /** Only the control plane's API server is forwarded (0 on a worker). */
  apiPort: number;
  pidFile: string;
}

/** The node's NIC on the bus: its netdev and MAC. */
export interface BusNic {
  netdev: string;
  mac: string;
}

export function qemuArgs(m: {
  name: string;
  accel: 'kvm' | 'tcg';
  memoryMiB: number;
  cpus: number;
  disk: string;
  seed: string;
  dir: string;
  mac: string;
  sshPort: number;
  apiPort: number;
  apiserverPort: number;
  bus?: BusNic;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}): string[] {
  return [
    '-name',
    m.name,
    '-accel',
    m.accel,
    '-m',
    String(m.memoryMiB),
    '-smp',
    String(m.cpus),
    '-nodefaults',
    '-display',
    'none',
    '-daemonize',
    '-pidfile',
    `${m.dir}/qemu.pid`,
    '-serial',
    `file:${m.dir}/console.log`,
    '-drive',
    `file=${m.disk},if=virtio,format=qcow2`,
    '-drive',
    `file=${m.seed},if=virtio,format=raw,readonly=on`,
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${m.sshPort}-:22${m.apiPort ? `,hostfwd=tcp:127.0.0.1:${m.apiPort}-:${m.apiserverPort}` : ''}`,
    '-device',
    `virtio-net-pci,netdev=net0,mac=${m.mac}`,
    ...(m.bus ? ['-netdev', m.bus.netdev, '-device', `virtio-net-pci,netdev=net1,mac=${m.bus.mac}`] : []),
    '-device',
    'virtio-rng-pci',
    ...(m.kernel ? ['-kernel', m.kernel, ...(m.initrd ? ['-initrd', m.initrd] : []), ...(m.cmdline ? ['-append', m.cmdline] : [])] : []),
  ];
}

async function running(ctx: TaskContext, pidFile: string): Promise<boolean> {
  return (await ctx.probe`sh -c ${'[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null'} sh ${pidFile}`).ok;
}

export default defineTask({
  name: 'provision-qemu-vm',
  description: 'Create and start a VM with qemu-system directly (user-mode networking, host forwards for SSH and the API server)',
  params: {
    name: { type: 'string', default: '', description: 'the VM (empty: the profile)' },
    cpus: { type: 'number', default: 2 },
    memory: { type: 'number', default: 2200, description: 'MiB' },
    diskSize: { type: 'string', default: '20000mb' },
    imageUrl: { type: 'string', default: '' },
    imageSha256: { type: 'string', default: '' },
    imageChecksumUrl: { type: 'string', default: '' },
    user: { type: 'string', default: 'docker', pattern: '[a-z_][a-z0-9_-]{0,31}' },
    kernel: { type: 'string', default: '' },
    initrd: { type: 'string', default: '' },
    cmdline: { type: 'string', default: '' },
    kvm: { type: 'string', default: '', description: "check-virt's verdict on KVM" },
    apiserverPort: { type: 'number', default: 8443, description: 'the API server port inside the VM' },
    home: { type: 'string', default: '' },
    sshTimeout: { type: 'number', default: 300 },
    ...CLUSTER_PARAMS,
  },
  async check(ctx, p) {
    const dir = await machineDir(ctx, p.home, p.name || ctx.profile);
    return (await ctx.exists(`${dir}/qemu.json`)) && (await running(ctx, `${dir}/qemu.pid`));
  },
  async outputs(ctx, p) {
    const dir = await machineDir(ctx, p.home, p.name || ctx.profile);
    const m = JSON.parse(await ctx.read(`${dir}/qemu.json`)) as QemuMachine;
    return { address: '127.0.0.1', ...clusterOutputs(p), sshPort: m.sshPort, apiPort: m.apiPort, sshKey: `${dir}/id_ed25519`, sshUser: p.user };
  },
  async run(ctx, p) {
    const name = p.name || ctx.profile;
    if (!Number.isInteger(p.index) || p.index < 0 || p.index >= p.nodes) throw new UserError('USAGE', `node index ${p.index} of ${p.nodes} nodes`);
    if (!Number.isInteger(p.cpus) || p.cpus < 1) throw new UserError('USAGE', `--cpus ${p.cpus} must be a whole number ≥ 1`);
    if (!Number.isInteger(p.memory) || p.memory < 256) throw new UserError('USAGE', `--memory ${p.memory} must be at least 256 (MiB)`);
    const diskMiB = sizeMiB(p.diskSize, '--disk-size');
    const dir = await machineDir(ctx, p.home, name);
    const key = `${dir}/id_ed25519`;
    const [mac, busMac] = domainMacs(name);
    const nics = seedNics(p, mac, busMac);
    const bus = nics ? { netdev: busNetdev('net1', busOf(ctx.profile)), mac: busMac } : undefined;
    const accel = p.kvm === 'usable' ? 'kvm' : 'tcg';
    if (accel === 'tcg') {
      ctx.note(
        'warn',
        `the VM runs under TCG emulation${p.kvm ? ` because KVM is ${p.kvm} here` : ''}: many times slower than KVM, expect minutes to boot and to install`,
      );
    }

    let machine: QemuMachine;
    if (await ctx.exists(`${dir}/qemu.json`)) machine = JSON.parse(await ctx.read(`${dir}/qemu.json`)) as QemuMachine;
    else {
      const [sshPort, apiPort] = await forwardPorts(ctx, FIRST_PORT, 2, p.index);
      if (!sshPort || !apiPort) throw new UserError('NO_FREE_PORT', `no free host port from ${FIRST_PORT} for the VM's forwards`);
      machine = { sshPort, apiPort: p.index === 0 ? apiPort : 0, pidFile: `${dir}/qemu.pid` };
    }
    ctx.listen(machine.sshPort, { address: '127.0.0.1', component: `qemu forward to ${name}:22 (SSH)` });
    if (machine.apiPort) ctx.listen(machine.apiPort, { address: '127.0.0.1', component: `qemu forward to ${name}:${p.apiserverPort} (API server)` });
    if (!(await running(ctx, machine.pidFile))) {
      const image = await cachedImage(ctx, p);
      if (!(await ctx.exists(dir))) await ctx.$`mkdir -p ${dir}`;
      const seed = await machineSeed(ctx, dir, { hostname: name, user: p.user, mac, ...(nics ? { nics } : {}) });
      await overlayDisk(ctx, image, `${dir}/disk.qcow2`, diskMiB);
      await ctx.write(`${dir}/qemu.json`, JSON.stringify(machine, null, 2) + '\n', { mode: '0644' });
      const args = qemuArgs({
        name,
        accel,
        memoryMiB: p.memory,
        cpus: p.cpus,
        disk: `${dir}/disk.qcow2`,
        seed,
        dir,
        mac,
        ...machine,
        apiserverPort: p.apiserverPort,
        ...(bus ? { bus } : {}),
        ...(p.kernel ? { kernel: p.kernel, initrd: p.initrd, cmdline: p.cmdline } : {}),
      });
      await ctx.$`qemu-system-x86_64 ${args}`;
    }
    try {
      await ctx.$`sh -c ${WAIT_SSH_SCRIPT} wait-ssh ${key} ${p.user} 127.0.0.1 ${p.sshTimeout} ${machine.sshPort}`;
    } catch (e) {
      if (!(e instanceof ExecError) || e.exitCode !== 3) throw e;
      throw new MachineError(
        'QEMU_NO_SSH',
        `${name} did not accept SSH on 127.0.0.1:${machine.sshPort} within ${p.sshTimeout} seconds`,
        `read the console log ${dir}/console.log`,
      );
    }
    return { address: '127.0.0.1', ...clusterOutputs(p), sshPort: machine.sshPort, apiPort: machine.apiPort, sshKey: key, sshUser: p.user };
  },
});

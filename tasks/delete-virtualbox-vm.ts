// virtualbox teardown as VBoxManage commands, for each of the profile's VMs (the control plane's,
// and a worker's for each machine-m02 … directory): power off, unregister with its disks, remove the
// machine directory (plan-only here, like the driver).
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { machineDir, workerMachineDirs } from './libvirt/virsh.ts';

export default defineTask({
  name: 'delete-virtualbox-vm',
  description: "Power off and unregister the profile's VirtualBox VM, remove its files",
  params: { name: { type: 'string', default: '' }, home: { type: 'string', default: '' } },
  async run(ctx, p) {
    const name = p.name || ctx.profile;
    const workers = await workerMachineDirs(ctx, p.home);
    await deleteVm(ctx, name, await machineDir(ctx, p.home, name));
    for (const w of workers) await deleteVm(ctx, `${name}-${w.node}`, w.dir);
  },
});

async function deleteVm(ctx: TaskContext, name: string, dir: string): Promise<void> {
  const info = await ctx.probe`VBoxManage showvminfo ${name} --machinereadable`;
  if (info.ok || ctx.mode === 'plan') {
    if (!info.ok) ctx.note('info', `VBoxManage does not know a VM '${name}' (or is not installed): the plan shows what delete does when it exists`);
    if (!info.ok || /^VMState="running"/m.test(info.stdout)) await ctx.$`VBoxManage controlvm ${name} poweroff`;
    await ctx.$`VBoxManage unregistervm ${name} --delete`;
  }
  if (await ctx.exists(dir)) await ctx.remove(dir);
}

// qemu teardown: each of the profile's VMs (the control plane's in machine/, workers' in machine-m02 …)
// stopped by the pid in its machine directory (TERM, then KILL after 10 s), then its disk, seed,
// key and logs removed, each listed first with its size.
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { machineDir, workerMachineDirs } from './libvirt/virsh.ts';

/** $1 the pid file: TERM, wait up to 10 s, then KILL. */
export const STOP_SCRIPT = `pid=$(cat "$1") || exit 0
kill "$pid" 2>/dev/null || exit 0
i=0; while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 "$pid" 2>/dev/null; exit 0`;

export default defineTask({
  name: 'delete-qemu-vm',
  description: "Stop the profile's qemu VM and remove its files",
  params: { home: { type: 'string', default: '' } },
  async run(ctx, p) {
    const workers = await workerMachineDirs(ctx, p.home);
    for (const d of [await machineDir(ctx, p.home), ...workers.map((w) => w.dir)]) await deleteMachine(ctx, d);
    ctx.note('info', 'the VM image stays in the download cache for the next start');
  },
});

async function deleteMachine(ctx: TaskContext, dir: string): Promise<void> {
  const pidFile = `${dir}/qemu.pid`;
  const alive = await ctx.probe`sh -c ${'[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null'} sh ${pidFile}`;
  if (alive.ok) await ctx.$`sh -c ${STOP_SCRIPT} stop-qemu ${pidFile}`;
  for (const f of ['disk.qcow2', 'seed.iso', 'seed', 'qemu.json', 'qemu.pid', 'console.log', 'id_ed25519', 'id_ed25519.pub']) {
    if (await ctx.exists(`${dir}/${f}`)) await ctx.remove(`${dir}/${f}`);
  }
  if (await ctx.exists(dir)) await ctx.remove(dir);
}

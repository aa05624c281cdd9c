// What this machine can host: hardware virtualization, a KVM that really runs a guest, libvirt,
// and container engines. Read-only: every check is a probe, and each finding says what to do.
import { defineTask } from '../core/task.ts';
import type { TaskContext } from '../core/context.ts';

/**
 * Boots qemu's own firmware under KVM for a few seconds and waits for it to reach its
 * "No bootable device" message: /dev/kvm can exist and open yet be unable to run a guest.
 */
const KVM_BOOT_TEST = [
  'log=$(mktemp) || exit 3',
  'qemu-system-x86_64 -accel kvm -nodefaults -display none -no-reboot -m 16 -debugcon "file:$log" -global isa-debugcon.iobase=0x402 >"$log.err" 2>&1 &',
  'pid=$!; n=0; result=1',
  'while [ "$n" -lt 40 ]; do',
  '  if grep -q "No bootable device" "$log" 2>/dev/null; then result=0; break; fi',
  '  if ! kill -0 "$pid" 2>/dev/null; then result=2; break; fi',
  '  sleep 0.1; n=$((n + 1))',
  'done',
  'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null',
  'tail -n 2 "$log.err"; rm -f "$log" "$log.err"',
  'exit "$result"',
].join('\n');

async function has(ctx: TaskContext, command: string): Promise<boolean> {
  return (await ctx.probe`sh -c ${'command -v "$1" >/dev/null 2>&1'} sh ${command}`).ok;
}

export default defineTask({
  name: 'check-virt',
  description: 'Check hardware virtualization, KVM, libvirt, Docker and Podman on the host (read-only)',
  params: {
    kvmBootTest: { type: 'boolean', default: true, description: 'boot qemu firmware under KVM to prove it runs a guest (up to 4 s)' },
  },
  async run(ctx, p) {
    const facts = await ctx.facts();
    const cpuinfo = (await ctx.exists('/proc/cpuinfo')) ? await ctx.read('/proc/cpuinfo') : '';
    const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
    const vendor = flags.has('vmx') ? 'Intel VT-x' : flags.has('svm') ? 'AMD-V' : undefined;
    const inVm = flags.has('hypervisor');
    if (vendor) ctx.note('info', `CPU virtualization: ${vendor}`);
    else {
      ctx.note('warn', 'the CPU shows no virtualization flags (vmx/svm)',
        inVm ? 'this machine is itself a VM: enable nested virtualization on its host, or use --driver docker, podman or none'
          : 'enable VT-x/AMD-V in the firmware settings, or use --driver docker, podman or none');
    }

    // KVM: present, accessible, and really able to run a guest.
    let kvm: 'missing' | 'no-access' | 'unusable' | 'usable' | 'unverified' = 'missing';
    if (await ctx.exists('/dev/kvm')) {
      const access = await ctx.probe`sh -c ${'[ -r /dev/kvm ] && [ -w /dev/kvm ]'}`;
      if (!access.ok) {
        kvm = 'no-access';
        ctx.note('warn', `/dev/kvm exists but ${facts.user} cannot open it`, `add ${facts.user} to the kvm group (sudo usermod -aG kvm ${facts.user}) and log in again`);
      } else if (!(await has(ctx, 'qemu-system-x86_64'))) {
        kvm = 'unverified';
        ctx.note('warn', '/dev/kvm is accessible, but without qemu-system-x86_64 kubestrap cannot prove it runs a guest', 'install qemu-system-x86 (apt-get install qemu-system-x86)');
      } else if (!p.kvmBootTest) {
        kvm = 'unverified';
        ctx.note('info', '/dev/kvm is accessible (boot test skipped)');
      } else {
        const boot = await ctx.probe`sh -c ${KVM_BOOT_TEST}`;
        const detail = boot.stdout.trim().split('\n').filter(Boolean).pop();
        if (boot.exitCode === 0) { kvm = 'usable'; ctx.note('info', 'KVM runs a guest: qemu firmware booted under -accel kvm'); }
        else {
          kvm = 'unusable';
          ctx.note('error', `/dev/kvm is present but cannot run a guest${boot.exitCode === 2 && detail ? `: ${detail}` : ' (the firmware made no progress in 4 s)'}`,
            inVm ? 'the outer hypervisor does not pass virtualization through: enable nested virtualization there, or use --driver qemu (TCG emulation, slow), docker, podman or none'
              : 'check the firmware settings and dmesg for KVM errors, or use --driver qemu (TCG), docker, podman or none');
        }
      }
    } else {
      ctx.note(vendor ? 'warn' : 'info', '/dev/kvm does not exist', vendor ? 'load the module: sudo modprobe kvm_intel (or kvm_amd)' : 'KVM needs hardware virtualization; use --driver qemu (TCG), docker, podman or none');
    }
    for (const mod of ['kvm_intel', 'kvm_amd']) {
      const path = `/sys/module/${mod}/parameters/nested`;
      if (await ctx.exists(path)) {
        const nested = (await ctx.read(path)).trim();
        ctx.note('info', `nested virtualization (${mod}): ${nested === 'Y' || nested === '1' ? 'on' : 'off'}`,
          nested === 'Y' || nested === '1' ? undefined : `to run VMs inside kubestrap VMs: echo "options ${mod} nested=1" | sudo tee /etc/modprobe.d/kvm-nested.conf, then reload ${mod}`);
      }
    }

    // libvirt: client, daemon, membership and a KVM-capable domain type.
    let libvirt = false;
    if (!(await has(ctx, 'virsh'))) {
      ctx.note('info', 'virsh is not installed: the kvm2 driver is not available', 'apt-get install libvirt-daemon-system libvirt-clients');
    } else {
      const groups = (await ctx.probe`id -nG`).stdout.trim().split(/\s+/);
      if (facts.uid !== 0 && !groups.includes('libvirt')) {
        ctx.note('warn', `${facts.user} is not in the libvirt group`, `sudo usermod -aG libvirt ${facts.user}, then log in again`);
      }
      const caps = await ctx.probe`timeout 10 virsh -c qemu:///system domcapabilities --virttype kvm`;
      const qemuCaps = caps.ok ? caps : await ctx.probe`timeout 10 virsh -c qemu:///system domcapabilities --virttype qemu`;
      if (qemuCaps.ok) {
        libvirt = true;
        ctx.note('info', `libvirtd answers on qemu:///system (domain type ${caps.ok ? 'kvm' : 'qemu only'})`,
          caps.ok ? undefined : 'libvirt offers only TCG emulation here: VMs run, slowly');
      } else {
        const reason = (caps.stderr.trim().split('\n').pop() ?? '').replace(/^error:\s*/, '');
        ctx.note('warn', `libvirtd does not answer on qemu:///system${reason ? `: ${reason}` : ''}`, 'start it (sudo systemctl start libvirtd) and check your group membership');
      }
    }

    // Container engines.
    let docker = false;
    if (await has(ctx, 'docker')) {
      const info = await ctx.probe`timeout 10 docker version --format ${'{{.Server.Version}}'}`;
      docker = info.ok && info.stdout.trim() !== '';
      ctx.note(docker ? 'info' : 'warn', docker ? `Docker Engine ${info.stdout.trim()} answers` : 'the docker client is installed but no Docker daemon answers',
        docker ? undefined : 'start dockerd (sudo systemctl start docker) and make sure you may use its socket');
    } else {
      ctx.note('info', 'docker is not installed: the docker driver is not available', 'apt-get install docker.io');
    }
    let podman = false;
    if (await has(ctx, 'podman')) {
      const info = await ctx.probe`timeout 10 podman version --format ${'{{.Version}}'}`;
      podman = info.ok;
      ctx.note(podman ? 'info' : 'warn', podman ? `Podman ${info.stdout.trim()} works` : 'podman is installed but does not work', podman ? undefined : (info.stderr.trim().split('\n').pop() ?? 'run podman info to see why'));
    } else {
      ctx.note('info', 'podman is not installed: the podman driver is not available', 'apt-get install podman');
    }
    return { virtualization: !!vendor, inVm, kvm, libvirt, docker, podman };
  },
});

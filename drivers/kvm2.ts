// kvm2 (alias kvm): a libvirt VM per profile on a private network, then the kubeadm graph over SSH.
// Preferred when libvirt answers and KVM is there (minikube's priority); TCG works, slowly.
import { existsSync } from 'node:fs';
import type { Driver } from './driver.ts';
import { PRIORITY, probeLocal } from './driver.ts';
import { kvmOptions } from './vm-options.ts';
import { workerSlots } from './nodes.ts';

const DOC = 'https://minikube.sigs.k8s.io/docs/drivers/kvm2/';

export const kvm2: Driver = {
  name: 'kvm2',
  aliases: ['kvm'],
  priority: PRIORITY.Preferred,
  description: 'a libvirt/KVM virtual machine (TCG emulation when KVM cannot run a guest)',
  options: kvmOptions,
  derivedParams: workerSlots,
  startRecipe: 'driver-kvm2',
  deleteRecipe: 'delete-kvm2',
  async status() {
    if (process.platform !== 'linux') return { installed: false, healthy: false, reason: 'kvm2 needs Linux', doc: DOC };
    if (!(await probeLocal('sh', ['-c', 'command -v virsh'])).ok) {
      return {
        installed: false,
        healthy: false,
        reason: 'virsh is not installed',
        fix: 'sudo apt-get install libvirt-daemon-system libvirt-clients qemu-system-x86',
        doc: DOC,
      };
    }
    const uri = process.env.LIBVIRT_DEFAULT_URI || 'qemu:///system';
    const r = await probeLocal('virsh', ['-c', uri, 'uri'], 5000);
    if (!r.ok) {
      return {
        installed: true,
        healthy: false,
        reason: `libvirt does not answer on ${uri}: ${r.stderr.trim().split('\n').pop()?.replace(/^error:\s*/, '') ?? ''}`,
        fix: 'sudo systemctl start libvirtd; kubestrap doctor --driver kvm2 says more',
        doc: DOC,
      };
    }
    if (!existsSync('/dev/kvm')) {
      return {
        installed: true,
        healthy: false,
        reason: '/dev/kvm does not exist (no hardware virtualization)',
        fix: 'enable VT-x/AMD-V, or use --driver qemu or docker',
        doc: DOC,
      };
    }
    return { installed: true, healthy: true };
  },
  deleteParams: (started) => ({
    ...(started.kvmQemuUri !== undefined ? { kvmQemuUri: started.kvmQemuUri } : {}),
    ...(started.network !== undefined ? { network: started.network } : {}),
  }),
};

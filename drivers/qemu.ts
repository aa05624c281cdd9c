// qemu: qemu-system directly (no libvirt), user-mode networking with host forwards on 127.0.0.1;
// with --nodes N the VMs also share a multicast socket network on 127.0.0.1 with fixed addresses.
// Experimental (as minikube's qemu2 on Linux): never picked automatically, only with --driver qemu.
import type { Driver } from './driver.ts';
import { PRIORITY, probeLocal } from './driver.ts';
import { multiMachineOptions } from './vm-options.ts';
import { workerSlots } from './nodes.ts';

const DOC = 'https://minikube.sigs.k8s.io/docs/drivers/qemu/';

export const qemu: Driver = {
  name: 'qemu',
  aliases: [],
  priority: PRIORITY.Experimental,
  description: 'a VM run by qemu-system directly (user-mode networking; no libvirt)',
  options: multiMachineOptions,
  derivedParams: workerSlots,
  startRecipe: 'driver-qemu',
  deleteRecipe: 'delete-qemu',
  async status() {
    if (!(await probeLocal('sh', ['-c', 'command -v qemu-system-x86_64 && command -v qemu-img && command -v genisoimage'])).ok) {
      return {
        installed: false,
        healthy: false,
        reason: 'qemu-system-x86_64, qemu-img or genisoimage is not installed',
        fix: 'sudo apt-get install qemu-system-x86 qemu-utils genisoimage',
        doc: DOC,
      };
    }
    return { installed: true, healthy: true };
  },
  deleteParams: () => ({}),
};

// virtualbox: a VirtualBox VM through VBoxManage. Plan-only: VirtualBox cannot be installed on the
// machines kubestrap is tested on, so its plan is audited but never run in the tests.
import type { Driver } from './driver.ts';
import { PRIORITY, probeLocal } from './driver.ts';
import { multiMachineOptions } from './vm-options.ts';
import { workerSlots } from './nodes.ts';

const DOC = 'https://minikube.sigs.k8s.io/docs/drivers/virtualbox/';

export const virtualbox: Driver = {
  name: 'virtualbox',
  aliases: [],
  // minikube: Fallback; here also untested, so never picked before a tested driver.
  priority: PRIORITY.Fallback,
  description: 'a VirtualBox VM (plan-only: untested)',
  options: multiMachineOptions,
  derivedParams: workerSlots,
  startRecipe: 'driver-virtualbox',
  deleteRecipe: 'delete-virtualbox',
  async status() {
    if (!(await probeLocal('sh', ['-c', 'command -v VBoxManage'])).ok) {
      return { installed: false, healthy: false, reason: 'VBoxManage is not installed', fix: 'install VirtualBox from virtualbox.org', doc: DOC };
    }
    const kvm = await probeLocal('sh', ['-c', 'test -d /sys/module/kvm_intel || test -d /sys/module/kvm_amd']);
    if (kvm.ok) {
      return {
        installed: true,
        healthy: false,
        reason: 'KVM is loaded: VirtualBox cannot start a VM at the same time',
        fix: 'use --driver kvm2, or sudo modprobe -r kvm_intel kvm (kvm_amd on AMD)',
        doc: DOC,
      };
    }
    return { installed: true, healthy: true };
  },
  deleteParams: () => ({}),
};

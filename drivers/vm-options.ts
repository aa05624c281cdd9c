// The options of the VM drivers, one entry each (minikube's flags; the seed document's --gpu and
// --hidden spell --kvm-gpu and --kvm-hidden): the machine's size and image for kvm2, qemu and
// virtualbox, and kvm2's own networks, connection, GPU and hidden hypervisor.
import { UserError } from '../core/errors.ts';
import { defineOption } from '../options/option.ts';
import { text, url, wholeNumber } from '../options/parsers.ts';
import { checkNetworkName } from '../tasks/libvirt/network.ts';
import { checkUri, DEFAULT_URI } from '../tasks/libvirt/virsh.ts';
import { sizeMiB } from '../tasks/vm/size.ts';
import { nodesOption, workerSlotOptions } from './nodes.ts';

function flag(value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new UserError('PARAM_INVALID', `${JSON.stringify(value)} is not true or false`);
}

export const machineOptions = [
  defineOption({ flag: 'cpus', key: 'cpus', type: 'number', default: 2, arg: 'n', help: 'CPUs of the VM', parse: wholeNumber(1) }),
  defineOption({
    flag: 'memory',
    key: 'memory',
    type: 'number',
    default: 2200,
    arg: 'size',
    help: 'Memory of the VM, in MiB or with a unit (4g)',
    parse: (v) => sizeMiB(v as string, '--memory'),
  }),
  defineOption({
    flag: 'disk-size',
    key: 'diskSize',
    type: 'string',
    default: '20000mb',
    arg: 'size',
    help: 'Disk size of the VM (20000mb, 40g)',
    parse: (v) => {
      sizeMiB(v as string, '--disk-size');
      return String(v);
    },
  }),
  defineOption({
    flag: 'image-url',
    key: 'imageUrl',
    type: 'string',
    default: '',
    arg: 'url',
    help: "The cloud image; empty: Ubuntu's, checked against its SHA256SUMS",
    parse: (v) => (v === '' ? '' : url('https://cloud-images.ubuntu.com/…/image.img')(v)),
  }),
  defineOption({
    flag: 'image-sha256',
    key: 'imageSha256',
    type: 'string',
    default: '',
    arg: 'hex',
    help: "The image's sha256",
    parse: (v) => {
      const s = text(v);
      if (s && !/^[a-f0-9]{64}$/.test(s)) throw new UserError('CHECKSUM_INVALID', `${JSON.stringify(s)} is not a sha256 (64 hex digits)`);
      return s;
    },
  }),
  defineOption({
    flag: 'image-checksum-url',
    key: 'imageChecksumUrl',
    type: 'string',
    default: '',
    arg: 'url',
    help: 'A SHA256SUMS file that names the image',
    parse: (v) => (v === '' ? '' : url('https://…/SHA256SUMS')(v)),
  }),
] as const;

/** qemu and virtualbox: the machine's, and --nodes (the VMs share a network of the profile's, tasks/vm/cluster-network.ts). */
export const multiMachineOptions = [...machineOptions, nodesOption, ...workerSlotOptions] as const;

export const kvmOptions = [
  ...machineOptions,
  nodesOption,
  ...workerSlotOptions,
  defineOption({
    flag: 'kvm-network',
    key: 'kvmNetwork',
    type: 'string',
    default: 'default',
    arg: 'name',
    help: 'The libvirt NAT network the VM reaches the outside through',
    parse: (v) => checkNetworkName(text(v), '--kvm-network'),
  }),
  defineOption({
    flag: 'network',
    key: 'network',
    type: 'string',
    default: '',
    arg: 'name',
    help: 'The private network; empty: mk-<profile>',
    parse: (v) => (v === '' ? '' : checkNetworkName(text(v), '--network')),
  }),
  defineOption({
    flag: 'kvm-qemu-uri',
    key: 'kvmQemuUri',
    type: 'string',
    default: DEFAULT_URI,
    arg: 'uri',
    help: 'The libvirt connection',
    parse: (v) => checkUri(text(v)),
  }),
  defineOption({ flag: 'kvm-gpu', key: 'kvmGpu', type: 'boolean', default: false, help: 'Pass eligible NVIDIA GPUs through (also --gpu)', parse: flag }),
  defineOption({ flag: 'gpu', key: 'kvmGpu', type: 'boolean', default: false, help: 'The same as --kvm-gpu', parse: flag }),
  defineOption({
    flag: 'kvm-hidden',
    key: 'kvmHidden',
    type: 'boolean',
    default: false,
    help: 'Hide the hypervisor from the guest (also --hidden)',
    parse: flag,
  }),
  defineOption({ flag: 'hidden', key: 'kvmHidden', type: 'boolean', default: false, help: 'The same as --kvm-hidden', parse: flag }),
] as const;

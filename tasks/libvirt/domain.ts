// The kvm2 driver's domain (after minikube's domainTmpl): virtio disk over the cached image, the
// NoCloud seed as a read-only virtio disk, the private NIC first and the NAT NIC second with MACs
// fixed from the profile (so the plan shows them), serial console logged to the machine directory,
// virtio rng. `type='qemu'` when KVM cannot run a guest (TCG); --kvm-hidden, --kvm-gpu as minikube.
import { createHash } from 'node:crypto';
import { hostdevXml } from './gpu.ts';

export interface DomainSpec {
  name: string;
  type: 'kvm' | 'qemu';
  memoryMiB: number;
  cpus: number;
  disk: string;
  seed: string;
  consoleLog: string;
  network: string;
  kvmNetwork: string;
  macs: [string, string];
  hidden: boolean;
  gpus: readonly string[];
  /** Direct kernel boot, for images without a bootloader. */
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

const x = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

/** Locally administered MACs in QEMU's 52:54:00 range, fixed by the domain name and the NIC's index. */
export function domainMacs(name: string): [string, string] {
  const mac = (i: number) => {
    const h = createHash('sha256').update(`kubestrap/${name}/nic${i}`).digest();
    return `52:54:00:${[h[0], h[1], h[2]].map((b) => b!.toString(16).padStart(2, '0')).join(':')}`;
  };
  return [mac(0), mac(1)];
}

export function domainXml(d: DomainSpec): string {
  const os = [
    "    <type arch='x86_64'>hvm</type>",
    ...(d.kernel ? [`    <kernel>${x(d.kernel)}</kernel>`] : []),
    ...(d.initrd ? [`    <initrd>${x(d.initrd)}</initrd>`] : []),
    ...(d.kernel && d.cmdline ? [`    <cmdline>${x(d.cmdline)}</cmdline>`] : []),
    ...(d.kernel ? [] : ["    <boot dev='hd'/>"]),
    "    <bootmenu enable='no'/>",
  ];
  const nic = (net: string, mac: string) => [
    "    <interface type='network'>",
    `      <source network='${x(net)}'/>`,
    `      <mac address='${mac}'/>`,
    "      <model type='virtio'/>",
    '    </interface>',
  ];
  return [
    `<domain type='${d.type}'>`,
    `  <name>${x(d.name)}</name>`,
    `  <memory unit='MiB'>${d.memoryMiB}</memory>`,
    `  <vcpu>${d.cpus}</vcpu>`,
    '  <features>',
    '    <acpi/>',
    '    <apic/>',
    '    <pae/>',
    ...(d.hidden ? ['    <kvm>', "      <hidden state='on'/>", '    </kvm>'] : []),
    '  </features>',
    // host-passthrough needs KVM; under TCG qemu's own default CPU model is used.
    ...(d.type === 'kvm' ? ["  <cpu mode='host-passthrough'/>"] : []),
    '  <os>',
    ...os,
    '  </os>',
    '  <devices>',
    "    <disk type='file' device='disk'>",
    "      <driver name='qemu' type='qcow2' cache='default' io='threads'/>",
    `      <source file='${x(d.disk)}'/>`,
    "      <target dev='vda' bus='virtio'/>",
    '    </disk>',
    "    <disk type='file' device='disk'>",
    "      <driver name='qemu' type='raw'/>",
    `      <source file='${x(d.seed)}'/>`,
    "      <target dev='vdb' bus='virtio'/>",
    '      <readonly/>',
    '    </disk>',
    ...nic(d.network, d.macs[0]),
    ...nic(d.kvmNetwork, d.macs[1]),
    "    <serial type='pty'>",
    "      <target port='0'/>",
    `      <log file='${x(d.consoleLog)}' append='off'/>`,
    '    </serial>',
    "    <console type='pty'>",
    "      <target type='serial' port='0'/>",
    '    </console>',
    "    <rng model='virtio'>",
    "      <backend model='random'>/dev/random</backend>",
    '    </rng>',
    ...(d.gpus.length
      ? ["    <graphics type='spice' autoport='yes'/>", '    <video>', "      <model type='cirrus'/>", '    </video>', ...d.gpus.map(hostdevXml)]
      : []),
    '  </devices>',
    '</domain>',
    '',
  ].join('\n');
}

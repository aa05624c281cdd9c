// The start flags of the VM drivers (minikube's spellings, and the seed document's --gpu/--hidden),
// checked before any planning and turned into recipe parameters.
import { UserError } from '../core/errors.ts';
import { sizeMiB } from '../tasks/vm/size.ts';
import { checkNetworkName } from '../tasks/libvirt/network.ts';
import { checkUri } from '../tasks/libvirt/virsh.ts';

export interface VmFlags {
  cpus?: number | string;
  memory?: number | string;
  diskSize?: string;
  imageUrl?: string;
  imageSha256?: string;
  imageChecksumUrl?: string;
  kvmNetwork?: string;
  network?: string;
  kvmQemuUri?: string;
  kvmGpu?: boolean;
  gpu?: boolean;
  kvmHidden?: boolean;
  hidden?: boolean;
}

function whole(value: number | string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UserError('USAGE', `${flag} ${value} must be a whole number ≥ ${min}`);
  return n;
}

/** Parameters every VM recipe takes (driver-kvm2, driver-qemu, driver-virtualbox). */
export function machineParams(f: VmFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.cpus !== undefined) out.cpus = whole(f.cpus, '--cpus', 1);
  if (f.memory !== undefined) out.memory = sizeMiB(f.memory, '--memory');
  if (f.diskSize !== undefined) { sizeMiB(f.diskSize, '--disk-size'); out.diskSize = String(f.diskSize); }
  if (f.imageUrl !== undefined) {
    try { new URL(String(f.imageUrl)); } catch { throw new UserError('USAGE', `--image-url ${f.imageUrl} is not a URL`); }
    out.imageUrl = String(f.imageUrl);
  }
  if (f.imageSha256 !== undefined) {
    if (!/^[a-f0-9]{64}$/.test(String(f.imageSha256))) throw new UserError('USAGE', '--image-sha256 must be 64 hex digits');
    out.imageSha256 = String(f.imageSha256);
  }
  if (f.imageChecksumUrl !== undefined) out.imageChecksumUrl = String(f.imageChecksumUrl);
  return out;
}

/** kvm2's own: networks, URI, GPU and hidden (both spellings). */
export function kvmParams(f: VmFlags): Record<string, unknown> {
  const out = machineParams(f);
  if (f.kvmNetwork !== undefined) out.kvmNetwork = checkNetworkName(String(f.kvmNetwork), '--kvm-network');
  if (f.network !== undefined) out.network = checkNetworkName(String(f.network), '--network');
  if (f.kvmQemuUri !== undefined) out.kvmQemuUri = checkUri(String(f.kvmQemuUri));
  if (f.kvmGpu || f.gpu) out.kvmGpu = true;
  if (f.kvmHidden || f.hidden) out.kvmHidden = true;
  return out;
}

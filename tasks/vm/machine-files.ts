// What every VM driver prepares the same way in the profile's machine directory: the image from the
// download cache (verified), the SSH key (ssh-keygen, mode 0600), the NoCloud seed ISO, and a qcow2
// disk over the cached image. Shared by provision-vm (kvm2), provision-qemu-vm and the virtualbox plan.
import { basename } from 'node:path';
import type { TaskContext } from '../../core/context.ts';
import { placeholder } from '../../core/placeholder.ts';
import { UserError } from '../../core/errors.ts';
import { metaData, networkConfig, type SeedNic, userData } from './cloud-init.ts';
import { checksumFor, DEFAULT_IMAGE_CHECKSUMS, DEFAULT_IMAGE_URL } from './images.ts';

export interface ImageParams {
  imageUrl: string;
  imageSha256: string;
  imageChecksumUrl: string;
}

export async function imageChecksum(ctx: TaskContext, p: ImageParams): Promise<string | undefined> {
  if (p.imageSha256) return p.imageSha256;
  const sumsUrl = p.imageChecksumUrl || (p.imageUrl === DEFAULT_IMAGE_URL ? DEFAULT_IMAGE_CHECKSUMS : '');
  if (!sumsUrl) {
    ctx.note('warn', `no checksum for ${p.imageUrl}: the image is used unverified`, 'pass --image-sha256 HEX or --image-checksum-url URL');
    return undefined;
  }
  const sums = await ctx.fetchText(sumsUrl);
  if (sums.startsWith('<output of ')) return sums;
  const file = basename(new URL(p.imageUrl).pathname);
  const sum = checksumFor(sums, file);
  if (!sum) throw new UserError('IMAGE_CHECKSUM_MISSING', `${sumsUrl} names no ${file}`, { fix: 'pass --image-sha256 HEX' });
  return sum;
}

/** The image in the download cache (downloaded in a run), verified by its checksum. */
export async function cachedImage(ctx: TaskContext, given: ImageParams): Promise<string> {
  const p = { ...given, imageUrl: given.imageUrl || DEFAULT_IMAGE_URL };
  const sha256 = await imageChecksum(ctx, p);
  return ctx.download(p.imageUrl, { ...(sha256 ? { sha256 } : {}) });
}

/** The profile's key pair; the public key (a placeholder in a plan that would generate it). */
export async function sshKey(ctx: TaskContext, key: string): Promise<string> {
  if (!(await ctx.exists(key))) await ctx.$`ssh-keygen -q -t ed25519 -N ${''} -C ${`kubestrap-${ctx.profile}`} -f ${key}`;
  return (await ctx.exists(`${key}.pub`)) ? ctx.read(`${key}.pub`) : placeholder(`ssh-keygen of ${basename(key)}`);
}

/** user-data and meta-data, then the ISO with the cidata label NoCloud looks for. */
export async function seedIso(
  ctx: TaskContext,
  dir: string,
  s: { hostname: string; user: string; publicKey: string; instanceId: string; nics?: readonly SeedNic[] },
): Promise<string> {
  const seed = `${dir}/seed.iso`;
  const files = [`${dir}/seed/user-data`, `${dir}/seed/meta-data`];
  await ctx.write(files[0]!, userData(s), { mode: '0644' });
  await ctx.write(files[1]!, metaData(s), { mode: '0644' });
  // Without network-config the image's own configuration applies (cloud-init's: DHCP on the first NIC).
  if (s.nics) {
    files.push(`${dir}/seed/network-config`);
    await ctx.write(files[2]!, networkConfig(s.nics), { mode: '0644' });
  }
  await ctx.$`genisoimage -quiet -output ${seed} -volid cidata -joliet -rock ${files}`;
  return seed;
}

/** The machine's SSH key in DIR (made once) and its seed: the user with that key, the hostname, the NICs when given. */
export async function machineSeed(
  ctx: TaskContext,
  dir: string,
  m: { hostname: string; user: string; mac: string; nics?: readonly SeedNic[] },
): Promise<string> {
  const publicKey = await sshKey(ctx, `${dir}/id_ed25519`);
  const instanceId = `${m.hostname}-${m.mac.replace(/:/g, '')}`;
  return seedIso(ctx, dir, { hostname: m.hostname, user: m.user, publicKey, instanceId, ...(m.nics ? { nics: m.nics } : {}) });
}

/** A qcow2 disk of sizeMiB over the cached image (which stays unchanged, as its backing file). */
export async function overlayDisk(ctx: TaskContext, image: string, disk: string, sizeMiB: number): Promise<void> {
  if (!(await ctx.exists(disk))) await ctx.$`qemu-img create -q -f qcow2 -F qcow2 -b ${image} ${disk} ${`${sizeMiB}M`}`;
}

/**
 * Waits until USER@ADDRESS:PORT takes the key and cloud-init has finished (it restarts sshd while it
 * configures the guest, so a first answer can be followed by refused connections); exit 3 at the deadline.
 */
export const WAIT_SSH_SCRIPT = `end=$(( $(date +%s) + $4 ))
until ssh -i "$1" -p "$5" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR "$2@$3" 'command -v cloud-init >/dev/null 2>&1 || exit 0; cloud-init status --wait >/dev/null 2>&1; test -e /var/lib/cloud/instance/boot-finished' </dev/null; do
  if [ "$(date +%s)" -ge "$end" ]; then exit 3; fi
  sleep 2
done`;

// A release archive (.tar.gz) whose binaries a runtime needs and no distribution package provides
// (cri-dockerd, containerd's static release): downloaded on the kubestrap machine with its checksum,
// put on the node (kept there, so later runs compare the binaries against it), and extracted.
import type { TaskContext } from '../core/context.ts';
import { fileDigest } from '../core/facts.ts';

/** Where archives are kept on the node. */
export const ARCHIVE_DIR = '/var/cache/kubestrap';

export interface ReleaseArchive {
  url: string;
  sha256: string;
  /** The archive's path on the node. */
  path: string;
  /** Members (one directory deep, e.g. `bin/containerd`), extracted into `dest` without that directory. */
  members: readonly string[];
  dest: string;
}

/**
 * `sh -c SCRIPT sh ARCHIVE DIR MEMBERS…`: exit 0 when every member is in DIR (without its first
 * `strip` path components), executable, and equal to the archive's. GNU tar's --compare checks
 * them all in one pass through the archive (0.5 s for containerd's, against 1.9 s for one
 * decompression per member); where it cannot say yes (another tar, a changed modification time
 * or owner) each member is compared by content, so the answer is the same.
 */
export function membersInPlace(strip: 0 | 1): string {
  const file = '"$d/${m#*/}"';
  return [
    'a=$1; d=$2; shift 2',
    `for m in "$@"; do [ -x ${file} ] || exit 1; done`,
    `tar -dzf "$a" -C "$d"${strip ? ' --strip-components=1' : ''} -- "$@" >/dev/null 2>&1 && exit 0`,
    `for m in "$@"; do tar -xzOf "$a" "$m" | cmp -s - ${file} || exit 1; done`,
  ].join('; ');
}

/** For release archives whose members sit one directory deep (bin/containerd). */
export const MEMBERS_OK = membersInPlace(1);

export async function archiveState(ctx: TaskContext, a: ReleaseArchive): Promise<{ archive: boolean; binaries: boolean }> {
  const archive = (await ctx.fact(fileDigest(a.path))).stdout.trim() === a.sha256;
  const binaries = archive && (await ctx.probe`sh -c ${MEMBERS_OK} sh ${a.path} ${a.dest} ${[...a.members]}`).ok;
  return { archive, binaries };
}

/** Downloads and puts the archive only when the node lacks it; extracts when a binary differs. Returns whether it changed anything. */
export async function installArchive(ctx: TaskContext, a: ReleaseArchive): Promise<boolean> {
  const st = await archiveState(ctx, a);
  if (st.binaries) return false;
  if (!st.archive) {
    const cached = await ctx.download(a.url, { sha256: a.sha256 });
    await ctx.put(cached, a.path, { mode: '0644', sudo: true, sha256: a.sha256 });
  }
  await ctx.sudo`tar -xzf ${a.path} -C ${a.dest} --strip-components=1 --no-same-owner ${[...a.members]}`;
  await ctx.sudo`chmod 0755 ${a.members.map((m) => `${a.dest}/${m.split('/').pop()}`)}`;
  return true;
}

/** The file name at the end of a URL when it is a plain name, else `fallback`. */
export function archiveName(url: string, fallback: string): string {
  let base = '';
  try {
    base = new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
  } catch {
    return fallback;
  }
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(base) ? base : fallback;
}

// Container images built locally from Debian's busybox-static (no registry is reachable here): one
// layer with busybox and its applets, written as a `docker save` archive that `ctr image import`
// and `docker load` read, under whatever names the test needs (the plan's pause image, say).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';
export const BUSYBOX_INSTALL = 'apt-get install busybox-static';

const APPLETS = ['sh', 'sleep', 'ip', 'cat', 'hostname', 'ls', 'echo', 'true'];

export interface ImageSpec {
  name: string;
  entrypoint: string[];
}

/** Builds one archive holding every image in `images` (all share the busybox layer); returns its path. */
export function busyboxArchive(dir: string, images: readonly ImageSpec[]): string {
  const root = join(dir, 'busybox-rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  const out = join(dir, 'busybox-archive');
  mkdirSync(out, { recursive: true });
  execFileSync('tar', ['-cf', join(out, 'layer.tar'), '--owner=0', '--group=0', '--numeric-owner', '-C', root, 'bin']);
  const diffId = `sha256:${createHash('sha256').update(readFileSync(join(out, 'layer.tar'))).digest('hex')}`;
  const manifest = images.map((img) => {
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: img.entrypoint, Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    });
    const file = `${createHash('sha256').update(config).digest('hex')}.json`;
    writeFileSync(join(out, file), config);
    return { Config: file, RepoTags: [img.name], Layers: ['layer.tar'] };
  });
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
  const archive = join(dir, 'busybox-images.tar');
  execFileSync('tar', ['-cf', archive, '-C', out, '.']);
  return archive;
}

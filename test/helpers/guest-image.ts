// A small VM guest for the kvm2 and qemu suites, built from Debian packages: a Debian cloud kernel,
// systemd, openssh-server and cloud-init in an ext4 filesystem converted to qcow2, with the kernel
// and initrd beside it for direct boot (no bootloader to install). Cached under
// $KUBESTRAP_TEST_CACHE by the hash of its inputs, like node-image.ts; builds are atomic.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { testCacheDir } from './node-image.ts';

export const GUEST_INSTALL = 'apt-get install mmdebstrap qemu-utils e2fsprogs';

const PACKAGES = [
  'linux-image-cloud-amd64',
  'initramfs-tools',
  'systemd',
  'systemd-sysv',
  'udev',
  'dbus',
  'kmod',
  'iproute2',
  'openssh-server',
  'cloud-init',
  'sudo',
  'procps',
  // What prepare-node installs: no package mirror is reachable from the guest, so they are baked in.
  'conntrack',
  'socat',
  'iptables',
  'ethtool',
].sort();

/** Bump when the build below changes in a way its arguments do not show. */
const BUILD_REVISION = 1;

// The guest takes its addresses with systemd-networkd: DHCP on every en* link, and what a seed's
// network-config says (cloud-init renders it for networkd, as a cloud image's netplan would). It
// reads the NoCloud seed alone (no network metadata probes).
const NETWORK = '[Match]\\nName=en*\\n[Network]\\nDHCP=ipv4\\n';
const CLOUD_CFG = 'datasource_list: [ NoCloud, None ]\\n';
const HOOKS = [
  '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*',
  `--customize-hook=printf '${NETWORK}' > "$1"/etc/systemd/network/80-dhcp.network`,
  `--customize-hook=printf '${CLOUD_CFG}' > "$1"/etc/cloud/cloud.cfg.d/90-kubestrap-test.cfg`,
  '--customize-hook=chroot "$1" systemctl enable systemd-networkd',
  // No host keys are baked in (every guest would share them): sshd makes its own on first boot.
  '--customize-hook=mkdir -p "$1"/etc/systemd/system/ssh.service.d && printf "[Service]\\nExecStartPre=/usr/bin/ssh-keygen -A\\n" > "$1"/etc/systemd/system/ssh.service.d/host-keys.conf',
  '--customize-hook=cp "$1"/boot/vmlinuz-* "$1"/../vmlinuz && cp "$1"/boot/initrd.img-* "$1"/../initrd.img',
];
const BUILD_ARGS = [
  '--variant=minbase',
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  ...HOOKS,
];
/** Size of the guest's root filesystem (sparse: the qcow2 holds only what is written). */
const ROOT_SIZE = '3G';
/** What the guest kernel needs to boot the image as its only disk, on the serial console. */
export const GUEST_CMDLINE = 'root=/dev/vda rw console=ttyS0 net.ifnames=1';

export interface GuestImage {
  /** qcow2 disk: the root filesystem. */
  disk: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  sha256: string;
  key: string;
  built: boolean;
}

export async function guestImage(): Promise<GuestImage> {
  const suite = 'bookworm';
  const sources = aptSources(suite);
  const version = await output('mmdebstrap', ['--version']);
  const key = createHash('sha256').update(JSON.stringify({
    BUILD_REVISION,
    suite,
    PACKAGES,
    BUILD_ARGS,
    ROOT_SIZE,
    version,
    sources: sources.map((f) => readFileSync(f, 'utf8')),
  })).digest('hex').slice(0, 16);
  const dir = join(testCacheDir(), `guest-${suite}-${key}`);
  const done = (built: boolean): GuestImage => ({
    disk: join(dir, 'disk.qcow2'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    cmdline: GUEST_CMDLINE,
    sha256: readFileSync(join(dir, 'disk.qcow2.sha256'), 'utf8').trim(),
    key,
    built,
  });
  if (existsSync(join(dir, 'disk.qcow2.sha256'))) return done(false);
  const unlock = await lock(`${dir}.lock`);
  try {
    if (existsSync(join(dir, 'disk.qcow2.sha256'))) return done(false);
    const work = `${dir}.${process.pid}.partial`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const log = `${dir}.log`;
    try {
      const rootfs = join(work, 'rootfs');
      await run('mmdebstrap', [...BUILD_ARGS, `--include=${PACKAGES.join(',')}`, '--format=directory', suite, rootfs, ...sources], log);
      const raw = join(work, 'root.raw');
      await run('truncate', ['-s', ROOT_SIZE, raw], log, true);
      await run('mkfs.ext4', ['-q', '-F', '-L', 'root', '-d', rootfs, raw], log, true);
      await run('qemu-img', ['convert', '-O', 'qcow2', raw, join(work, 'disk.qcow2')], log, true);
      rmSync(raw);
      rmSync(rootfs, { recursive: true, force: true });
      const digest = createHash('sha256').update(readFileSync(join(work, 'disk.qcow2'))).digest('hex');
      await run('sh', ['-c', 'chmod 0644 "$1"/*', 'sh', work], log, true);
      // The checksum file is written last: its presence means the image is whole.
      await run('sh', ['-c', 'printf "%s\\n" "$2" > "$1"/disk.qcow2.sha256', 'sh', work, digest], log, true);
      rmSync(dir, { recursive: true, force: true });
      renameSync(work, dir);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return done(true);
  } finally {
    unlock();
  }
}

function aptSources(suite: string): string[] {
  const files = existsSync('/etc/apt/sources.list') ? ['/etc/apt/sources.list'] : [];
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort()) if (/\.(list|sources)$/.test(f)) files.push(join('/etc/apt/sources.list.d', f));
  }
  const word = new RegExp(`(^|\\s)${suite}(\\s|$)`, 'm');
  return files.filter((f) => word.test(readFileSync(f, 'utf8').split('\n').filter((l) => !l.trim().startsWith('#')).join('\n')));
}

async function lock(path: string): Promise<() => void> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(path);
      return () => rmSync(path, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = statSync(path, { throwIfNoEntry: false });
    // A build takes minutes; a lock untouched for 30 minutes belongs to a builder that died.
    if (st && Date.now() - st.mtimeMs > 30 * 60_000) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function output(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${bin} exited ${code}`))));
  });
}

/** Runs a build step at low priority with its output appended to the log; a failure shows the log's end. */
function run(bin: string, args: string[], log: string, append = false): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('sh', ['-c', `exec nice -n 10 "$@" ${append ? '>>' : '>'} "$0" 2>&1`, log, bin, ...args], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        resolve();
        return;
      }
      const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-20).join('\n') : '';
      reject(new Error(`${bin} failed (exit ${code}); see ${log}:\n${tail}`));
    });
  });
}

// A private libvirtd + virtlogd for the kvm2 suites (environment.md: no systemd here). Both run in a
// mount namespace of their own where /run/libvirt, /etc/libvirt, /var/lib/libvirt, /var/log/libvirt
// and /var/cache/libvirt are the test's temp dirs, so the machine's own libvirt configuration (its
// default network, its domains) is neither seen nor changed. The client socket is in the temp dir:
// `uri` reaches it from outside the namespace. Teardown destroys and undefines every domain and
// network, stops every process of the namespace by PID, removes the bridges the daemon made, and the
// firewall chains it added when they were not there before.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Teardown } from './dockerd.ts';
import { testCacheDir } from './node-image.ts';

export const LIBVIRT_INSTALL = 'apt-get install libvirt-daemon-system libvirt-clients qemu-system-x86 dnsmasq-base';

export interface Libvirtd {
  /** libvirt connection URI for virsh and kubestrap (qemu:///system behind the test's own socket). */
  uri: string;
  dir: string;
  /** This namespace's /var/log/libvirt, seen from outside (qemu's own log per domain is under qemu/). */
  logDir: string;
  /** Runs virsh against this daemon. */
  virsh(...args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }>;
  /** Names a bridge the test makes (directly or through libvirt): teardown removes it if it is left. */
  bridge(name: string): string;
}

/** Interface names on this machine. */
export function hostLinks(): string[] {
  return readdirSync('/sys/class/net').sort();
}

const SCRIPT = `set -eu
d=$1
mkdir -p /run/libvirt
mount -t tmpfs -o mode=0755 tmpfs /run/libvirt
for p in etc:/etc/libvirt lib:/var/lib/libvirt log:/var/log/libvirt cache:/var/cache/libvirt; do
  mount --bind "$d/\${p%%:*}" "\${p#*:}"
done
virtlogd -p "$d/virtlogd.pid" >>"$d/virtlogd.log" 2>&1 &
echo $! >"$d/virtlogd.started"
libvirtd -f "$d/libvirtd.conf" -p "$d/libvirtd.pid" >>"$d/libvirtd.log" 2>&1 &
echo $! >"$d/libvirtd.started"
wait`;

export async function startLibvirtd(t: Teardown): Promise<Libvirtd> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-libvirt-'));
  for (const sub of ['lib', 'log', 'cache', 'sock']) execSync('mkdir', ['-p', join(dir, sub)]);
  // The machine's libvirt configuration, minus its domains and networks (the default network
  // would otherwise come up on virbr0 with 192.168.122.1 and collide with the machine's own).
  execSync('cp', ['-a', '/etc/libvirt', join(dir, 'etc')]);
  rmSync(join(dir, 'etc', 'qemu'), { recursive: true, force: true });
  execSync('mkdir', ['-p', join(dir, 'etc', 'qemu', 'networks', 'autostart')]);
  const sock = join(dir, 'sock');
  writeFileSync(
    join(dir, 'libvirtd.conf'),
    [
      `unix_sock_dir = "${sock}"`,
      'unix_sock_group = "root"',
      'unix_sock_rw_perms = "0700"',
      'auth_unix_rw = "none"',
      'auth_unix_ro = "none"',
      'log_outputs = "3:stderr"',
      '',
    ].join('\n'),
  );
  const chainsBefore = libvirtChains();
  // Chains a test's libvirtd creates on a machine that had none are the tests' to remove later.
  if (!chainsBefore.size) writeFileSync(join(testCacheDir(), 'libvirt-chains-from-tests'), '');
  const runDirExisted = existsSync('/run/libvirt');
  const log = openSync(join(dir, 'namespace.log'), 'a');
  let holder: ChildProcess;
  try {
    holder = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', SCRIPT, 'sh', dir], { stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  holder.unref();
  holder.on('error', () => {});
  const uri = `qemu+unix:///system?socket=${sock}/libvirt-sock`;
  const virsh = (...args: string[]) => run('virsh', ['-c', uri, ...args], 60_000);
  const ownBridges = new Set<string>();
  const lv: Libvirtd = {
    uri,
    dir,
    logDir: join(dir, 'log'),
    virsh,
    bridge: (name) => {
      ownBridges.add(name);
      return name;
    },
  };

  const linksBefore = hostLinks();
  t.after(async () => {
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<void> | void) => {
      try {
        await fn();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    const bridges: string[] = [];
    // Domains first (they hold the networks' taps), then networks (their dnsmasq and bridges).
    await step('domains', async () => {
      const doms = (await virsh('list', '--all', '--name')).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      for (const d of doms) {
        await virsh('destroy', d);
        await virsh('undefine', d, '--nvram');
      }
    });
    await step('networks', async () => {
      const nets = (await virsh('net-list', '--all', '--name')).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      for (const n of nets) {
        const br = /<bridge name='([^']+)'/.exec((await virsh('net-dumpxml', n)).stdout)?.[1];
        if (br) bridges.push(br);
        await virsh('net-destroy', n);
        await virsh('net-undefine', n);
      }
    });
    await step('processes', () => stopNamespace(dir, holder));
    // Whatever the daemon could not remove itself: interfaces that were not there before.
    await step('interfaces', async () => {
      for (const link of hostLinks()) {
        if (linksBefore.includes(link) || !(bridges.includes(link) || /^(vnet\d+|virbr\d+(-nic)?)$/.test(link) || ownBridges.has(link))) continue;
        await run('ip', ['link', 'del', link], 10_000);
      }
    });
    await step('firewall', () => removeNewChains(chainsBefore));
    if (!runDirExisted) {
      try {
        execSync('rmdir', ['/run/libvirt']);
      } catch { /* in use by another daemon now */ }
    }
    rmSync(dir, { recursive: true, force: true });
    const linksAfter = hostLinks().filter((l) => !linksBefore.includes(l) && (bridges.includes(l) || ownBridges.has(l)));
    if (linksAfter.length) problems.push(`interfaces left behind: ${linksAfter.join(', ')}`);
    const chainsAfter = libvirtdRunning() ? [] : [...libvirtChains()].filter((c) => !chainsBefore.has(c));
    if (chainsAfter.length) problems.push(`firewall chains left behind: ${chainsAfter.join(', ')}`);
    if (problems.length) throw new Error(`libvirt teardown: ${problems.join('; ')}`);
  });

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (existsSync(join(sock, 'libvirt-sock')) && (await virsh('uri')).ok) break;
    if (holder.exitCode !== null || Date.now() > deadline) {
      throw new Error(`libvirtd did not start: ${tail(join(dir, 'libvirtd.log'))} ${tail(join(dir, 'namespace.log'))}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return lv;
}

/** Every process in the daemon's mount namespace (libvirtd, virtlogd, dnsmasq, qemu): TERM, then KILL. */
async function stopNamespace(dir: string, holder: ChildProcess): Promise<void> {
  const ns = holder.pid ? nsOf(holder.pid) : undefined;
  const members = (): number[] => {
    if (!ns) return [];
    return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => nsOf(pid) === ns);
  };
  for (const f of ['libvirtd.started', 'virtlogd.started']) {
    const pid = Number(readOr(join(dir, f)));
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch { /* gone */ }
    }
  }
  for (let i = 0; i < 100 && members().length; i++) {
    if (i === 20) {
      for (const pid of members()) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch { /* gone */ }
      }
    }
    if (i === 60) {
      for (const pid of members()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* gone */ }
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function nsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** The LIBVIRT_* chains (and the rules that jump to them) per table, as iptables-save shows them. */
export function libvirtChains(): Set<string> {
  const out = new Set<string>();
  for (const cmd of ['iptables-save', 'ip6tables-save']) {
    let text = '';
    try {
      text = execSync(cmd, []);
    } catch {
      continue;
    }
    let table = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      const m = /^:(LIBVIRT_\w+)/.exec(line);
      if (m) out.add(`${cmd}|${table}|${m[1]}`);
    }
  }
  return out;
}

/**
 * The chains libvirt adds are shared by every libvirtd on the machine, so they go only when no
 * libvirtd runs any more, and only if they were not there before the first of these tests began
 * (the marker in the test cache says a test created them).
 */
export function removeNewChains(before: Set<string>): void {
  if (libvirtdRunning()) return;
  const marker = join(testCacheDir(), 'libvirt-chains-from-tests');
  const ours = (key: string) => !before.has(key) || existsSync(marker);
  const now = new Set([...libvirtChains()].filter(ours));
  for (const key of now) {
    if (before.has(key)) continue;
    const [cmd, table, chain] = key.split('|') as [string, string, string];
    const bin = cmd === 'iptables-save' ? 'iptables' : 'ip6tables';
    const rules = execSync(`${bin}-save`, ['-t', table]).split('\n').filter((l) => l.startsWith('-A ') && l.includes(`-j ${chain}`));
    for (const rule of rules) {
      try {
        execSync(bin, ['-t', table, '-D', ...rule.slice(3).split(' ')]);
      } catch { /* already gone */ }
    }
  }
  for (const key of now) {
    if (before.has(key)) continue;
    const [cmd, table, chain] = key.split('|') as [string, string, string];
    const bin = cmd === 'iptables-save' ? 'iptables' : 'ip6tables';
    try {
      execSync(bin, ['-t', table, '-F', chain]);
      execSync(bin, ['-t', table, '-X', chain]);
    } catch { /* in use */ }
  }
  if (!libvirtChains().size) rmSync(marker, { force: true });
}

function libvirtdRunning(): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'libvirtd') return true;
    } catch { /* gone */ }
  }
  return false;
}

function execSync(bin: string, args: string[]): string {
  return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function run(bin: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function tail(path: string): string {
  return readOr(path).split('\n').slice(-10).join('\n');
}

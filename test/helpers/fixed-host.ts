// TEST DOUBLE for facts only: a host whose files and command answers are fixed, so a plan made
// against it is the same on every machine (golden plans). It never performs anything: a plan only
// probes and reads, and a run against it would fail at the first command it does not know.
import { createHash } from 'node:crypto';
import { quote } from '../../core/quote.ts';
import { UNIT_ENABLED_SCRIPT } from '../../core/facts.ts';
import type { ExecResult, FileInfo, Host, HostFacts, HostKind } from '../../core/hosts/host.ts';

export interface FixedMachine {
  name: string;
  kind: HostKind;
  facts: HostFacts;
  /** File contents by absolute path; their parent directories exist too. */
  files: Record<string, string>;
  /** Directories that exist (besides the parents of files). */
  dirs: string[];
  /** Commands `command -v` finds. */
  commands: string[];
  /** Packages installed now, with their versions. */
  installed?: Record<string, string>;
  /** Commands on PATH as runtimes/installed.ts finds them: path, owning package, `--version` line. */
  binaries?: Record<string, { path: string; owner?: string; versionLine: string }>;
  /** Packages apt could install, with their versions and the dependencies it would pull in. */
  available?: Record<string, { version: string; depends?: string[] }>;
  /** Exact command text → answer. Anything else exits 1 with nothing on stdout. */
  answers: Record<string, string>;
  shellPrefix?: string[];
}

export class FixedHost implements Host {
  readonly name: string;
  readonly kind: HostKind;
  /** Every command asked of this host, in order: each one is a process on a real machine. */
  readonly commands: string[] = [];
  constructor(private readonly m: FixedMachine) {
    this.name = m.name;
    this.kind = m.kind;
  }

  async exec(command: string): Promise<ExecResult> {
    this.commands.push(command);
    if (command.startsWith(`k=${FRAME}\n`)) return ok(this.gather(command));
    return this.answer(command);
  }

  /**
   * Answers a fact-gathering script (core/facts.ts) frame by frame, each from the same fixed answers
   * as the probe on its own, in the script's framing.
   */
  private gather(script: string): string {
    let out = '';
    for (const frame of script.split('\necho "$k ').slice(1)) {
      const key = frame.slice(0, frame.indexOf('"'));
      const body = frame.slice(frame.indexOf('{ ') + 2, frame.lastIndexOf('\n} </dev/null'));
      const r = this.answerFragment(body);
      out += `${FRAME} ${key}\n${r.stdout}\n${FRAME} . ${r.exitCode}\n`;
    }
    return out;
  }

  private answerFragment(body: string): ExecResult {
    // A memoized fact (core/facts.ts memoBody): a fixed machine's validator prints nothing, so the
    // fact is always asked, and plans of it never depend on what an earlier test kept.
    const memo = /^v=\$\( [\s\S]*?\n\); \[ -z "\$v" \][^\n]*\nif [^\n]*; else echo "(\S+) asked"\n([\s\S]*)\nfi$/.exec(body);
    if (memo) {
      const r = this.answerFragment(memo[2]!);
      return { ...r, stdout: `${memo[1]} asked\n${r.stdout}` };
    }
    // `(set -- ARGS\nSCRIPT\n)` is the probe `sh -c SCRIPT sh ARGS` run inside the script's shell.
    const sub = /^\(set -- (.*)\n([\s\S]*)\n\)$/.exec(body);
    // Each unit's enabled state, from the answer its probe has on its own.
    if (sub?.[2] === UNIT_ENABLED_SCRIPT) {
      return ok(words(sub[1]!).map((u) => `${u} ${this.answerSync(`systemctl is-enabled --quiet ${u}`).exitCode === 0 ? 'enabled' : 'disabled'}\n`).join(''));
    }
    if (sub) return this.answerSync(`sh -c ${quote(sub[2]!)} sh ${sub[1]}`.trim());
    const stat = /^stat -L -c '%F\|%s\|%a' -- (.*)$/.exec(body);
    if (stat) {
      const lines = words(stat[1]!).map((p) => this.statSync(p)).filter((i) => i.exists).map((i) =>
        `${i.isDir ? 'directory' : 'regular file'}|${i.size}|${i.mode!.replace(/^0/, '')}\n`
      );
      return ok(lines.join(''));
    }
    const read = /^\(if \[ ! -e ('(?:[^']|'\\'')*'|\S+) \]; then exit 3;/.exec(body);
    if (read) {
      const path = words(read[1]!)[0]!;
      if (!(path in this.m.files)) return this.isDir(path) ? fail(4) : fail(3);
      return ok(Buffer.from(this.m.files[path]!).toString('base64') + '\n');
    }
    const units = /^systemctl is-active (.*)$/.exec(body);
    if (units) {
      return ok(units[1]!.split(' ').map((u) => (this.answerSync(`systemctl is-active --quiet ${u}`).exitCode === 0 ? 'active' : 'inactive') + '\n').join(''));
    }
    return this.answerSync(body);
  }

  private async answer(command: string): Promise<ExecResult> {
    return this.answerSync(command);
  }

  private answerSync(command: string): ExecResult {
    if (command in this.m.answers) return ok(this.m.answers[command]!);
    // tasks/k8s/node-facts.ts: sh -c 'command -v "$1" …' sh NAME
    const which = /^sh -c 'command -v "\$1" >\/dev\/null 2>&1' sh (\S+)$/.exec(command);
    if (which) return this.m.commands.includes(which[1]!) ? ok('') : fail(1);
    // ctx.put's probe: exit 3 when the file is missing, else its sha256.
    const put = /^sh -c '\[ -e "\$1" \] \|\| exit 3;.*' sh (\S+)$/.exec(command);
    if (put) return put[1]! in this.m.files ? ok(digest(this.m.files[put[1]!]!) + '\n') : fail(3);
    // ctx.packageState: the package manager, then the installed packages asked about.
    if (command.startsWith("sh -c 'for m in apt-get")) {
      // The names follow the script and its `$0` (package-state on its own, sh in the gathering).
      const asked = command.slice(command.lastIndexOf("' ") + 2).split(' ').slice(1);
      return ok(`manager apt-get\n${asked.filter((n) => n in (this.m.installed ?? {})).map((n) => `package ${n} ${this.m.installed![n]}\n`).join('')}`);
    }
    // runtimes/installed.ts: each binary's path, owner and version line.
    // The binaries follow the script's `$0` (sh), then `--` and the packages that usually own them.
    const bins = command.startsWith("sh -c 'n=0; for a in") ? command.slice(command.lastIndexOf("' sh ") + 5).split(' -- ')[0] : undefined;
    if (bins !== undefined) {
      const found = bins.split(' ').flatMap((b) => (this.m.binaries?.[b] ? [[b, this.m.binaries[b]] as const] : []));
      return ok([
        ...found.map(([b, x]) => `binary\t${b}\t${x.path}\t${x.versionLine}\n`),
        ...found.flatMap(([, x]) => (x.owner ? [`owner\t${x.path}\t${x.owner}\n`] : [])),
      ].join(''));
    }
    // ctx.simulatePackages: apt installs what is asked for and the dependencies the table names.
    const sim = /^sh -c 'export LC_ALL=C\n[^']*' apt-get -s install --no-install-recommends -- (.+)$/.exec(command);
    if (sim) {
      const lines: string[] = [];
      const add = (n: string) => {
        if (lines.some((l) => l.startsWith(`Inst ${n} `)) || n in (this.m.installed ?? {})) return;
        const p = this.m.available?.[n];
        if (!p) return;
        lines.push(`Inst ${n} (${p.version} Debian:12/stable [amd64])`);
        for (const d of p.depends ?? []) add(d);
      };
      const names = sim[1]!.split(' ');
      const unknown = names.find((n) => !this.m.available?.[n]);
      if (unknown) return { stdout: '', stderr: `E: Unable to locate package ${unknown}\n`, exitCode: 100 };
      names.forEach(add);
      return ok(`NOTE: This is only a simulation!\n${lines.join('\n')}\n`);
    }
    return fail(1);
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    return path in this.m.files ? Buffer.from(this.m.files[path]!) : null;
  }

  async stat(path: string): Promise<FileInfo> {
    return this.statSync(path);
  }

  private statSync(path: string): FileInfo {
    if (path in this.m.files) return { exists: true, isDir: false, size: Buffer.byteLength(this.m.files[path]!), mode: '0644' };
    if (this.isDir(path)) return { exists: true, isDir: true, size: 4096, mode: '0755' };
    return { exists: false };
  }

  async diskUsage(path: string): Promise<number | undefined> {
    const under = Object.entries(this.m.files).filter(([p]) => p === path || p.startsWith(path + '/'));
    if (!under.length && !this.isDir(path)) return undefined;
    return under.reduce((n, [, c]) => n + Buffer.byteLength(c), 0);
  }

  async facts(): Promise<HostFacts> {
    return this.m.facts;
  }

  shellPrefix(): string[] {
    return this.m.shellPrefix ?? [];
  }

  async close(): Promise<void> {}

  private isDir(path: string): boolean {
    return this.m.dirs.includes(path) || Object.keys(this.m.files).some((p) => p.startsWith(path.replace(/\/$/, '') + '/'));
  }
}

/** Splits words quoted by core/quote.ts (plain, or single-quoted with '\'' for a quote). */
function words(text: string): string[] {
  return [...text.matchAll(/(?:'((?:[^']|'\\'')*)'|(\S+))/g)].map((m) => m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!);
}

/** The gathering script's frame marker (core/facts.ts). */
const FRAME = '@@kubestrap-fact@@';

function ok(stdout: string): ExecResult {
  return { stdout, stderr: '', exitCode: 0 };
}

function fail(code: number): ExecResult {
  return { stdout: '', stderr: 'fixed host: no answer recorded for this command', exitCode: code };
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * A fresh Debian 12 workstation with systemd: systemd-resolved's stub in /etc/resolv.conf and four
 * upstream nameservers, swap on, overlay loaded but not br_netfilter, IP forwarding off, sshd on
 * :22, one network interface. None of the cluster's packages are installed.
 */
export function debianWorkstation(over: Partial<FixedMachine> = {}): FixedMachine {
  return {
    name: 'local',
    kind: 'local',
    facts: { uid: 1000, gid: 1000, user: 'alice', home: '/home/alice' },
    files: {
      '/etc/resolv.conf':
        '# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n',
      '/run/systemd/resolve/resolv.conf': 'nameserver 192.168.1.1\nnameserver 1.1.1.1\nnameserver 9.9.9.9\nnameserver 8.8.8.8\nsearch lan\n',
      '/proc/swaps': 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda3                               partition\t2097148\t\t0\t\t-2\n',
      '/proc/meminfo': 'MemTotal:        8026000 kB\nMemFree:         6000000 kB\n',
      '/proc/filesystems': 'nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\toverlay\n',
      '/proc/sys/net/ipv4/ip_forward': '0\n',
      '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
      '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
      '/etc/hosts':
        '127.0.0.1\tlocalhost\n127.0.1.1\tworkstation\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\n',
    },
    dirs: ['/run/systemd/system', '/home/alice'],
    commands: ['systemctl', 'ip', 'ss', 'sudo', 'tar', 'modprobe', 'sysctl', 'apt-get', 'dpkg-query'],
    // Debian 12's versions (bookworm, 2026).
    available: {
      conntrack: { version: '1:1.4.7-1+b2' },
      socat: { version: '1.7.4.4-2' },
      iptables: { version: '1.8.9-2' },
      ethtool: { version: '1:6.1-1' },
      containerd: { version: '1.6.20~ds1-1+deb12u3', depends: ['runc'] },
      runc: { version: '1.1.5+ds1-1+deb12u1' },
      'docker.io': { version: '20.10.24+dfsg1-1+deb12u1+b6', depends: ['containerd', 'runc', 'tini'] },
      tini: { version: '0.19.0-1' },
    },
    answers: {
      'sudo -n true': '',
      'uname -m': 'x86_64\n',
      'nproc': '4\n',
      'id -u': '1000\n',
      'id -g': '1000\n',
      'ip -4 -o route show default': 'default via 192.168.1.1 dev enp1s0 proto dhcp src 192.168.1.20 metric 100\n',
      'ip -4 -o addr show scope global':
        '2: enp1s0    inet 192.168.1.20/24 brd 192.168.1.255 scope global dynamic enp1s0\\       valid_lft 86000sec preferred_lft 86000sec\n',
      'ss -Hltn': 'LISTEN 0      128          0.0.0.0:22        0.0.0.0:*\nLISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*\n',
    },
    ...over,
  };
}

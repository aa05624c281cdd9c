// What this machine can host: hardware virtualization, a KVM that really runs a guest, libvirt,
// and container engines. Read-only: every check is a probe with a timeout, and each finding says
// what to do about it. `kubestrap doctor` runs it; `doctor --driver D` also fails unless D can run.
import { defineTask } from '../core/task.ts';
import { drivers as registered } from '../drivers/index.ts';
import type { CommandResult } from '../core/context.ts';

/**
 * Boots qemu's own firmware (SeaBIOS) twice, first under TCG emulation, then under KVM, and compares
 * the CPU time (user + system, from /proc) each qemu used until the firmware reported "No bootable
 * device." on its debug port.
 *
 * Why a race against TCG and not just "does it get there": /dev/kvm can exist and even run the
 * firmware while being useless. On the machines this was measured on (kvm_pvm, no VT-x/AMD-V), the
 * firmware needs 3–4 s of CPU under KVM, nearly all of it in the kernel, against 0.1 s under TCG, and
 * a Linux kernel prints nothing for tens of seconds, then dies with "KVM internal error … emulation
 * failure". A KVM slower than plain emulation cannot run a guest usefully, so KVM must finish within
 * 3 × the TCG CPU time + 0.6 s of CPU.
 *
 * Why CPU time and not wall time: on a busy machine the wall time of the TCG run stretches with the
 * load while a broken KVM's time does not, so a wall-clock race called that KVM usable whenever the
 * machine was busy. CPU time is what the work costs, whatever else runs. A run that has not finished
 * after 20 s of wall time is reported as `stalled`: the machine is too busy to tell.
 *
 * Robustness: each qemu runs under `timeout -s KILL`, so it dies even if this shell is killed with
 * SIGKILL; the EXIT trap stops qemu and removes the temp dir on any exit, INT, TERM or HUP, and a
 * second signal (Ctrl-C reaches the whole group, then the runner kills too) cannot cut that short.
 * stdout holds only the verdict, which is stable from run to run (plans digest what probes print):
 * `tcg=ok|slow|stalled|exited`, `kvm=ok|slow|stalled|exited`, `<accel>.error=` (qemu's last stderr
 * line). Timings go to stderr in clock ticks: `hz=N`, `tcg.cpu=N`, `limit=N`, `kvm.cpu=N`, and
 * `kvm.last=` (the firmware's last line). Exit: 0 usable, 1 too slow or stalled, 2 qemu exited,
 * 3 the TCG reference failed, 4 no temp dir.
 */
const KVM_BOOT_SCRIPT = `set -u
dir=$(mktemp -d "\${TMPDIR:-/tmp}/kubestrap-kvm-probe.XXXXXX") || exit 4
hz=$(getconf CLK_TCK 2>/dev/null) || hz=100
pid=
# stop: ends the qemu being run (through its timeout wrapper) and drops its pid file once it is gone.
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; rm -f "$dir"/*.pid; fi; }
# Also by pid file: a signal may land between starting qemu and noting its pid. Pid files of qemus
# already waited for are gone, so no stale pid is ever killed.
cleanup() {
  stop
  for f in "$dir"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  n=0; while ! rm -rf "$dir" 2>/dev/null && [ "$n" -lt 20 ]; do sleep 0.1; n=$((n + 1)); done
}
trap cleanup EXIT
trap 'trap "" INT TERM HUP; exit 130' INT TERM HUP
# cpu ACCEL: clock ticks of CPU that accel's qemu has used (fields 14 and 15 of /proc/PID/stat).
cpu() {
  q=$(cat "$dir/$1.pid" 2>/dev/null) || q=
  if [ -z "$q" ]; then echo 0; return; fi
  # shellcheck disable=SC2046 # the fields after the command name are meant to be split
  set -- $(sed 's/^.*) //' "/proc/$q/stat" 2>/dev/null)
  echo $((\${12:-0} + \${13:-0}))
}
# boot ACCEL MAX_CPU_TICKS HARD_LIMIT_SECONDS
boot() {
  : >"$dir/$1.log"
  timeout -s KILL "$3" qemu-system-x86_64 -accel "$1" -name kubestrap-kvm-probe -nodefaults -display none -no-reboot -m 16 \\
    -pidfile "$dir/$1.pid" -chardev "file,id=fw,path=$dir/$1.log" -device isa-debugcon,iobase=0x402,chardev=fw </dev/null >"$dir/$1.err" 2>&1 &
  pid=$!
  n=0
  while :; do
    used=$(cpu "$1")
    if grep -q 'No bootable device' "$dir/$1.log"; then
      if [ "$used" -gt "$2" ]; then verdict=slow; break; fi
      echo "$1=ok"; echo "$1.cpu=$used" >&2; stop; return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      stop
      echo "$1=exited"; grep -v warning "$dir/$1.err" | tail -n 1 | sed "s/^/$1.error=/"; return 2
    fi
    if [ "$used" -gt "$2" ]; then verdict=slow; break; fi
    if [ "$n" -ge 400 ]; then verdict=stalled; break; fi
    sleep 0.05; n=$((n + 1))
  done
  echo "$1=$verdict"; echo "$1.cpu=$used" >&2; grep . "$dir/$1.log" | tail -n 1 | sed "s/^/$1.last=/" >&2; stop; return 1
}
echo "hz=$hz" >&2
boot tcg $((hz * 15)) 25 2>"$dir/tcg.cpu" || { cat "$dir/tcg.cpu" >&2; exit 3; }
cat "$dir/tcg.cpu" >&2
ticks=$(sed -n 's/^tcg.cpu=//p' "$dir/tcg.cpu")
limit=$((ticks * 3 + hz * 6 / 10))
echo "limit=$limit" >&2
boot kvm "$limit" 25`;

export type KvmState = 'missing' | 'no-access' | 'unusable' | 'usable' | 'unverified';

/**
 * Driver names and aliases come from the driver registry; the machine kinds this task examines
 * whose drivers are not registered yet are added here (a registered driver of the same name wins).
 */
const EXAMINED: Readonly<Record<string, readonly string[]>> = { kvm2: ['kvm'], qemu: [], docker: [], podman: [], virtualbox: [] };
const ALIASES: Record<string, string> = Object.fromEntries([
  ...Object.entries(EXAMINED).flatMap(([name, aliases]) => [[name, name], ...aliases.map((a) => [a, name])]),
  ...registered.flatMap((d) => [[d.name, d.name], ...d.aliases.map((a) => [a, d.name])]),
]);
const DRIVERS = ['', ...Object.keys(ALIASES)];
const ELSEWHERE = 'use --driver docker, podman or none';

/** The last non-empty line of a command's error output, without virsh's/docker's "error:" prefix. */
function lastLine(r: CommandResult): string {
  const line = (r.stderr.trim() || r.stdout.trim()).split('\n').filter((l) => l.trim()).pop() ?? '';
  return line.replace(/^(error|Error):\s*/, '').trim();
}

function field(out: string, key: string): string | undefined {
  return new RegExp(`^${key.replace('.', '\\.')}=(.*)$`, 'm').exec(out)?.[1];
}

export default defineTask({
  name: 'check-virt',
  description: 'Check hardware virtualization, KVM, libvirt, Docker and Podman on the host (read-only)',
  params: {
    driver: { type: 'string', enum: DRIVERS, default: '', description: 'fail unless this driver can run here' },
    kvmBootTest: { type: 'boolean', default: true, description: 'race qemu firmware under KVM against TCG (CPU time) to prove KVM runs a guest (about 1–2 s)' },
    libvirtUri: { type: 'string', default: '', description: 'libvirt connection (default qemu:///system)' },
    dockerHost: { type: 'string', default: '', description: "Docker daemon address (default: the docker CLI's own)" },
  },
  async run(ctx, p) {
    const facts = await ctx.facts();
    const interrupted = () => {
      if (ctx.signal.aborted) throw new Error('interrupted');
    };
    const found = await ctx
      .probe`timeout 5 sh -c ${'for b; do command -v "$b" >/dev/null 2>&1 && echo "$b"; done; true'} sh qemu-system-x86_64 virsh docker podman`;
    const installed = new Set(found.stdout.split('\n').map((s) => s.trim()).filter(Boolean));

    // CPU flags and the KVM module: what kind of virtualization this machine can offer at all.
    const cpuinfo = (await ctx.exists('/proc/cpuinfo')) ? await ctx.read('/proc/cpuinfo') : '';
    const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
    const vendor = flags.has('vmx') ? 'Intel VT-x' : flags.has('svm') ? 'AMD-V' : undefined;
    const inVm = flags.has('hypervisor');
    const modules: string[] = [];
    for (const m of ['kvm_intel', 'kvm_amd', 'kvm_pvm']) if (await ctx.exists(`/sys/module/${m}`)) modules.push(m);
    if (vendor) ctx.note('info', `CPU virtualization: ${vendor}`);
    else if (inVm) {
      ctx.note(
        'warn',
        'the CPU shows no vmx/svm flag: this machine is a VM whose hypervisor does not pass hardware virtualization through (nested virtualization is off)',
        `enable nested virtualization on the outer host (KVM: options kvm_intel nested=1 and CPU mode host-passthrough; cloud: an instance type that allows nested virtualization), or ${ELSEWHERE}`,
      );
    } else {
      ctx.note('warn', 'the CPU shows no vmx/svm flag', `enable VT-x/AMD-V in the firmware settings, or ${ELSEWHERE}`);
    }
    for (const mod of ['kvm_intel', 'kvm_amd']) {
      const path = `/sys/module/${mod}/parameters/nested`;
      if (!modules.includes(mod) || !(await ctx.exists(path))) continue;
      const on = ['Y', '1'].includes((await ctx.read(path)).trim());
      ctx.note(
        'info',
        `nested virtualization (${mod}): ${on ? 'on' : 'off'}`,
        on
          ? undefined
          : `only needed to run VMs inside kubestrap's VMs: echo "options ${mod} nested=1" | sudo tee /etc/modprobe.d/kvm-nested.conf, then reload ${mod}`,
      );
    }
    if (modules.includes('kvm_pvm')) {
      ctx.note('info', '/dev/kvm comes from kvm_pvm (KVM on page tables, without VT-x/AMD-V): guests may run far slower than under emulation');
    }

    // KVM: present, accessible, and really able to run a guest faster than emulation.
    let kvm: KvmState = 'missing';
    let kvmDetail = '';
    let tcg: boolean | undefined;
    let kvmTiming: Record<string, unknown> | null = null;
    if (await ctx.exists('/dev/kvm')) {
      const access = await ctx.probe`timeout 5 sh -c ${'[ -r /dev/kvm ] && [ -w /dev/kvm ]'}`;
      if (!access.ok) {
        kvm = 'no-access';
        kvmDetail = `${facts.user} cannot open /dev/kvm`;
        ctx.note('warn', `/dev/kvm exists but ${facts.user} cannot open it`, `sudo usermod -aG kvm ${facts.user}, then log in again`);
      } else if (!installed.has('qemu-system-x86_64')) {
        kvm = 'unverified';
        kvmDetail = 'qemu-system-x86_64 is not installed';
        ctx.note(
          'warn',
          '/dev/kvm is accessible, but without qemu-system-x86_64 kubestrap cannot prove KVM runs a guest',
          'sudo apt-get install qemu-system-x86',
        );
      } else if (!p.kvmBootTest) {
        kvm = 'unverified';
        kvmDetail = 'boot test skipped';
        ctx.note('info', '/dev/kvm is accessible (KVM boot test skipped)');
      } else {
        const boot = await ctx.probe`sh -c ${KVM_BOOT_SCRIPT}`;
        interrupted();
        ({ kvm, kvmDetail, tcg, timing: kvmTiming } = judgeBoot(boot));
        if (kvm === 'usable') ctx.note('info', `KVM is usable: ${kvmDetail}`);
        else if (kvm === 'unusable') {
          ctx.note(
            'error',
            `KVM is unusable here: ${kvmDetail}`,
            `${
              inVm ? 'enable nested virtualization on the outer hypervisor, ' : 'check the firmware settings and dmesg for KVM errors, '
            }or use --driver qemu (TCG emulation, slow), docker, podman or none`,
          );
        } else {
          ctx.note(
            'warn',
            `KVM could not be tested: ${kvmDetail}`,
            /busy/.test(kvmDetail)
              ? 'run kubestrap doctor again when the machine is less busy'
              : 'run qemu-system-x86_64 -accel tcg -nodefaults -display none by hand to see why qemu fails',
          );
        }
      }
    } else {
      kvmDetail = '/dev/kvm does not exist';
      ctx.note(
        vendor ? 'warn' : 'info',
        'KVM is unavailable: /dev/kvm does not exist',
        vendor ? 'load the module: sudo modprobe kvm_intel (or kvm_amd)' : `KVM needs hardware virtualization; use --driver qemu (TCG), or ${ELSEWHERE}`,
      );
    }
    if (!installed.has('qemu-system-x86_64')) {
      ctx.note('info', 'qemu-system-x86_64 is not installed: the qemu and kvm2 drivers are not available', 'sudo apt-get install qemu-system-x86');
    } else if (tcg) ctx.note('info', 'qemu runs guests under TCG emulation: the qemu driver works (slowly)');

    // libvirt: client, membership, and a daemon that answers.
    interrupted();
    const uri = p.libvirtUri || 'qemu:///system';
    let libvirt = false;
    let libvirtType: string | undefined;
    if (!installed.has('virsh')) {
      ctx.note('info', 'virsh is not installed: the kvm2 driver is not available', 'sudo apt-get install libvirt-daemon-system libvirt-clients');
    } else {
      if (facts.uid !== 0) {
        const groups = (await ctx.probe`timeout 5 id -nG`).stdout.trim().split(/\s+/);
        if (!groups.includes('libvirt')) {
          ctx.note('warn', `${facts.user} is not in the libvirt group`, `sudo usermod -aG libvirt ${facts.user}, then log in again`);
        }
      }
      // `virsh uri` opens a connection through the daemon's QEMU driver: it answers. Asking more
      // (version, domcapabilities) makes libvirtd probe qemu, 4-15 s per call where KVM is broken,
      // so domcapabilities is asked only when KVM passed the boot test.
      const answer = await ctx.probe`timeout 10 virsh -c ${uri} uri`;
      if (answer.ok) {
        libvirt = true;
        if (kvm === 'usable') {
          const caps = await ctx.probe`timeout 20 virsh -c ${uri} domcapabilities --virttype kvm`;
          libvirtType = caps.ok && /<domain>kvm<\/domain>/.test(caps.stdout) ? 'kvm' : 'qemu';
          ctx.note(
            libvirtType === 'kvm' ? 'info' : 'warn',
            `libvirtd answers on ${uri} (domain type ${libvirtType})`,
            libvirtType === 'kvm' ? undefined : 'libvirt cannot use KVM although kubestrap can: check that the libvirt-qemu user may open /dev/kvm',
          );
        } else if (kvm === 'unusable' || kvm === 'missing') {
          libvirtType = 'qemu';
          ctx.note('warn', `libvirtd answers on ${uri}, but KVM cannot run guests here`, "kvm2 VMs must use domain type 'qemu' (TCG emulation, slow)");
        } else ctx.note('info', `libvirtd answers on ${uri}`);
      } else {
        const why = answer.exitCode === 124 ? 'no answer within 10 s' : lastLine(answer);
        const denied = /permission denied|authentication/i.test(why);
        ctx.note(
          'warn',
          `libvirtd does not answer on ${uri}${why ? `: ${why}` : ''}`,
          denied
            ? `sudo usermod -aG libvirt ${facts.user}, then log in again`
            : 'start it: sudo systemctl start libvirtd (without systemd: sudo virtlogd -d && sudo libvirtd -d)',
        );
      }
    }

    // Container engines.
    interrupted();
    let docker = false;
    if (installed.has('docker')) {
      const where = p.dockerHost || 'its default socket';
      const format = '{{.Server.Version}}';
      const info = p.dockerHost
        ? await ctx.probe`timeout 10 docker -H ${p.dockerHost} version --format ${format}`
        : await ctx.probe`timeout 10 docker version --format ${format}`;
      docker = info.ok && info.stdout.trim() !== '';
      if (docker) ctx.note('info', `Docker Engine ${info.stdout.trim()} answers on ${where}`);
      else {
        const why = info.exitCode === 124 ? 'no answer within 10 s' : lastLine(info);
        ctx.note(
          'warn',
          `no Docker daemon answers on ${where}${why ? `: ${why}` : ''}`,
          /permission denied/i.test(why)
            ? `sudo usermod -aG docker ${facts.user}, then log in again`
            : 'start it: sudo systemctl start docker (without systemd: sudo dockerd &)',
        );
      }
    } else {
      ctx.note('info', 'docker is not installed: the docker driver is not available', 'sudo apt-get install docker.io');
    }
    interrupted();
    let podman = false;
    if (installed.has('podman')) {
      const info = await ctx.probe`timeout 20 podman info --format ${'{{.Version.Version}} {{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}}'}`;
      const [version, cgroups, runtime] = info.stdout.trim().split(/\s+/);
      podman = info.ok && !!version;
      if (podman) ctx.note('info', `Podman ${version} works (runtime ${runtime}, cgroup manager ${cgroups})`);
      else {ctx.note(
          'warn',
          `podman is installed but does not work: ${info.exitCode === 124 ? 'no answer within 20 s' : lastLine(info) || 'podman info failed'}`,
          'run podman info to see why',
        );}
    } else {
      ctx.note('info', 'podman is not installed: the podman driver is not available', 'sudo apt-get install podman');
    }

    const drivers: Record<string, { ok: boolean; reason?: string }> = {
      none: { ok: true },
      ssh: { ok: true },
      kvm2: !installed.has('virsh')
        ? { ok: false, reason: 'virsh is not installed' }
        : kvm !== 'usable'
        ? { ok: false, reason: `KVM is ${kvm}: ${kvmDetail}` }
        : !libvirt
        ? { ok: false, reason: `libvirtd does not answer on ${uri}` }
        : { ok: true },
      qemu: tcg === false
        ? { ok: false, reason: 'qemu fails to run its firmware under TCG' }
        : installed.has('qemu-system-x86_64')
        ? { ok: true }
        : { ok: false, reason: 'qemu-system-x86_64 is not installed' },
      docker: docker ? { ok: true } : { ok: false, reason: 'no Docker daemon answers' },
      podman: podman ? { ok: true } : { ok: false, reason: 'podman does not work' },
    };
    if (p.driver === 'virtualbox') {
      const vbox = await ctx.probe`timeout 10 VBoxManage --version`;
      drivers.virtualbox = vbox.ok ? { ok: true } : { ok: false, reason: 'VBoxManage does not run' };
    }
    if (p.driver) {
      const name = ALIASES[p.driver]!;
      // A registered driver this task does not examine is judged by its own status (doctor lists it).
      const verdict = drivers[name] ?? { ok: true };
      const verdictLine = `the ${name} driver cannot run here: ${verdict.reason} (see the findings above for the fix)`;
      // A plan reports the verdict; the run fails on it (and a run's plan phase must not fail first,
      // or the run's events would never show the findings).
      if (!verdict.ok && ctx.mode === 'run') throw new Error(verdictLine);
      if (!verdict.ok) ctx.note('error', verdictLine);
      else ctx.note('info', `the ${name} driver can run here`);
    }
    return {
      virtualization: !!vendor,
      inVm,
      kvmModules: modules,
      kvm,
      kvmDetail,
      kvmTiming,
      tcg: tcg ?? null,
      libvirt,
      libvirtType: libvirtType ?? null,
      docker,
      podman,
      drivers: Object.fromEntries(Object.entries(drivers).map(([k, v]) => [k, v.ok])),
    };
  },
});

/**
 * Reads the boot race's output into a verdict: stdout says what happened, stderr how fast. Notes and
 * probe output stay free of timings, so a plan that includes this step has a stable digest; the
 * timings are outputs.
 */
function judgeBoot(boot: CommandResult): { kvm: KvmState; kvmDetail: string; tcg: boolean; timing: Record<string, unknown> } {
  const out = boot.stdout;
  const hz = Number(field(boot.stderr, 'hz') ?? 100) || 100;
  const cpu = (key: string) => {
    const v = field(boot.stderr, key);
    return v === undefined ? null : Number(v) / hz;
  };
  const timing = {
    tcgCpuSeconds: cpu('tcg.cpu'),
    kvmCpuSeconds: cpu('kvm.cpu'),
    kvmLimitCpuSeconds: cpu('limit'),
    kvmLastFirmwareLine: field(boot.stderr, 'kvm.last')?.trim() ?? null,
  };
  if (boot.exitCode === 3 || field(out, 'tcg') !== 'ok') {
    const tcg = field(out, 'tcg');
    const why = field(out, 'tcg.error') ??
      (tcg === 'slow'
        ? 'the firmware did not finish within 15 s of CPU'
        : tcg === 'stalled'
        ? 'the firmware did not finish within 20 s; the machine may be too busy'
        : lastLine(boot) || `exit code ${boot.exitCode}`);
    return { kvm: 'unverified', kvmDetail: `qemu fails even without KVM (${why})`, tcg: false, timing };
  }
  switch (field(out, 'kvm')) {
    case 'ok':
      return { kvm: 'usable', kvmDetail: "qemu's firmware ran under -accel kvm on about as much CPU as under TCG emulation, or less", tcg: true, timing };
    case 'exited':
      return { kvm: 'unusable', kvmDetail: `qemu -accel kvm exited: ${field(out, 'kvm.error') ?? 'no error message'}`, tcg: true, timing };
    case 'slow':
      return {
        kvm: 'unusable',
        tcg: true,
        timing,
        kvmDetail:
          "qemu's firmware, which finishes under TCG emulation, did not finish under -accel kvm within 3 × that CPU time + 0.6 s: a KVM slower than emulation cannot run a guest",
      };
    case 'stalled':
      return {
        kvm: 'unverified',
        kvmDetail: 'qemu -accel kvm neither finished nor used up its CPU allowance within 20 s; the machine may be too busy',
        tcg: true,
        timing,
      };
    default:
      return { kvm: 'unverified', kvmDetail: `the boot test stopped early (exit ${boot.exitCode ?? 'by a signal'})`, tcg: true, timing };
  }
}

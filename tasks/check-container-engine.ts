// doctor for the docker and podman drivers: is the engine there and which API it speaks, its
// cgroup version and driver, storage driver, rootless or not, whether a node can be privileged,
// a free subnet for a profile network, and the inotify limits many nodes need. Reads only; each
// finding comes with what to do.
import { UserError } from '../core/errors.ts';
import { defineTask } from '../core/task.ts';
import { endpoint, ENGINE_PARAMS, formatCidr, SUBNET_SEARCH } from './container/common.ts';
import { missingCaps } from './container/privileges.ts';
import { freeSubnet } from './create-container-network.ts';

/** kind's known-issues values: a few nodes exhaust the distribution defaults (8192 watches, 128 instances). */
export const INOTIFY = { watches: 524288, instances: 512 };

interface Info {
  ServerVersion?: string;
  CgroupVersion?: string;
  CgroupDriver?: string;
  Driver?: string;
  SecurityOptions?: string[];
  MemoryLimit?: boolean;
  CpuCfsQuota?: boolean;
  NCPU?: number;
  MemTotal?: number;
}

export default defineTask({
  name: 'check-container-engine',
  description: 'Check a Docker or Podman engine for node containers (read-only)',
  params: {
    ...ENGINE_PARAMS,
    required: { type: 'boolean', default: false, description: 'fail when the engine cannot host nodes' },
    driver: { type: 'string', default: '', description: 'doctor --driver: required when it names this engine' },
    // The search create-container-network makes with the same settings (start passes the driver's).
    subnet: { type: 'string', default: SUBNET_SEARCH.start },
    subnetStep: { type: 'number', default: SUBNET_SEARCH.step },
    subnetTries: { type: 'number', default: SUBNET_SEARCH.tries },
  },
  async check() {
    return false;
  },
  async run(ctx, p) {
    // doctor --driver names this engine: it must be usable, and that is doctor's verdict.
    const verdict = p.driver === p.engine;
    p = { ...p, required: p.required || verdict };
    const ep = endpoint(p);
    const problem = (message: string, fix: string) => {
      if (p.required) ctx.note('error', message, fix);
      else ctx.note('warn', message, fix);
    };
    let version: { Version?: string; ApiVersion?: string };
    try {
      version = (await ctx.engine(ep, { op: 'version' })).value as typeof version;
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      if (verdict) {
        // Like check-virt's verdicts: the plan notes it and the run fails on it, so the run's plan
        // phase does not fail first (doctor would print a plan, exit 2 and show no run's findings).
        const line = `the ${ep.engine} driver cannot run here: ${e.message}`;
        if (ctx.mode === 'run') throw new Error(`${line} (${e.fix})`);
        ctx.note('error', line, e.fix);
        return { usable: false, socket: ep.socket };
      }
      if (p.required) throw e;
      ctx.note('info', `${e.message}: the ${ep.engine} driver is not available`, e.fix);
      return { usable: false, socket: ep.socket };
    }
    const info = (await ctx.engine(ep, { op: 'info' })).value as Info;
    const security = info.SecurityOptions ?? [];
    ctx.note('info', `${ep.engine} ${version.Version ?? info.ServerVersion ?? '?'} answers at ${ep.socket} (API ${version.ApiVersion ?? '?'})`);
    ctx.note('info', `cgroup v${info.CgroupVersion ?? '?'} with the ${info.CgroupDriver ?? '?'} cgroup driver; storage driver ${info.Driver ?? '?'}`);
    if (info.Driver === 'vfs') {
      ctx.note(
        'warn',
        `the ${info.Driver} storage driver copies every layer: nodes start slowly and use much disk`,
        `configure overlay2 (docker) or overlay (podman) storage`,
      );
    }
    if (!info.MemoryLimit) {
      ctx.note(
        'warn',
        `the engine cannot limit memory: --memory is ignored`,
        'enable the memory cgroup controller (cgroup_enable=memory on the kernel command line)',
      );
    }
    if (!info.CpuCfsQuota) ctx.note('warn', `the engine cannot limit CPU time: --cpus is ignored`, 'enable the CPU controller with CFS quota in the kernel');
    const rootless = security.some((s) => /name=rootless/.test(s));
    if (rootless) {
      if (info.CgroupVersion !== '2') {
        problem(
          `${ep.engine} runs rootless on cgroup v1: nodes cannot get their own cgroups`,
          'boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) and delegate cpu, memory and pids to the user',
        );
      } else {ctx.note(
          'info',
          `${ep.engine} runs rootless: nodes need the cpu, memory and pids controllers delegated to this user`,
          'systemctl edit user@.service: [Service] Delegate=yes',
        );}
    } else ctx.note('info', `${ep.engine} runs as root (rootful)`);
    const remapped = security.some((s) => /name=userns/.test(s));
    if (remapped) {
      ctx.note(
        'warn',
        'the daemon remaps user namespaces (userns-remap): privileged node containers are refused',
        'nodes need --userns=host, or run the daemon without userns-remap',
      );
    }
    const missing = missingCaps(
      (await ctx.probe`cat /proc/self/status`).stdout,
      Number((await ctx.probe`cat /proc/sys/kernel/cap_last_cap`).stdout.trim()) || 40,
    );
    if (ep.engine === 'docker' && missing.length) {
      ctx.note(
        'warn',
        `privileged containers fail here (the capability bounding set lacks ${
          missing.map((c) => `CAP_${c}`).join(', ')
        }: "unable to apply caps: operation not permitted")`,
        'nothing to do: kubestrap gives nodes every other capability instead and says so in the plan',
      );
    } else if (!remapped) ctx.note('info', 'privileged node containers work here');
    const search = await freeSubnet(ctx, p);
    if (search.chosen) ctx.note('info', `a profile network would get ${formatCidr(search.chosen)}`);
    else {problem(
        `no free private /24 from ${search.tried[0]} on (${search.tried.length} tried): host interfaces, routes or networks cover them`,
        `remove unused networks (${ep.engine} network prune) or start with --subnet 10.90.0.0/24`,
      );}
    const watches = Number((await ctx.probe`cat /proc/sys/fs/inotify/max_user_watches`).stdout.trim());
    const instances = Number((await ctx.probe`cat /proc/sys/fs/inotify/max_user_instances`).stdout.trim());
    if (watches < INOTIFY.watches || instances < INOTIFY.instances) {
      ctx.note(
        'warn',
        `inotify limits are low for several nodes (max_user_watches ${watches}, max_user_instances ${instances}): kubelets fail with "too many open files"`,
        `sudo sysctl fs.inotify.max_user_watches=${INOTIFY.watches} fs.inotify.max_user_instances=${INOTIFY.instances}`,
      );
    }
    // What a node container will find (the engine's kernel): preflight plans a node that does not exist yet with it.
    return {
      usable: true,
      socket: ep.socket,
      cgroupVersion: info.CgroupVersion === '1' ? 1 : 2,
      cpus: info.NCPU ?? 0,
      memoryMiB: info.MemTotal ? Math.floor(info.MemTotal / 1024 / 1024) : 0,
    };
  },
});

// One Kubernetes node as a container (minikube's kic, kind's node): systemd as PID 1, tmpfs /run and
// /tmp, /lib/modules read-only, a named volume for /var, a fixed address on the profile's network,
// labels that delete and list go by, resource limits where the engine's cgroups allow them, and
// the API server's port published on the listen address. It never shares the host's cgroup
// namespace nor binds the host's /sys/fs/cgroup, so nothing in it can remount what the host uses.
import { UserError } from '../core/errors.ts';
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { placeholder } from '../core/placeholder.ts';
import { type Endpoint, EngineError, type PortSpec, type RunSpec } from '../core/engine-api.ts';
import { endpoint, ENGINE_PARAMS, hostAddress, isOurs, LABEL, profileLabels } from './container/common.ts';
import { CGROUP_RW_SCRIPT, missingCaps } from './container/privileges.ts';

interface Inspect {
  Id: string;
  State: { Status: string; Running: boolean };
  Config: { Labels: Record<string, string> | null };
  NetworkSettings: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> };
}

export default defineTask({
  name: 'provision-node',
  description: "Create and boot a node container (systemd as PID 1) on the profile's network",
  params: {
    ...ENGINE_PARAMS,
    name: { type: 'string', description: 'container name (also its hostname)' },
    image: { type: 'string', description: 'the node image' },
    network: { type: 'string' },
    subnet: { type: 'string', description: "the network's subnet: node N gets address N+2 (the gateway is .1)" },
    nodeIndex: { type: 'number', default: 0 },
    role: { type: 'string', enum: ['control-plane', 'worker'], default: 'control-plane' },
    runtime: { type: 'string', default: 'containerd', description: 'recorded in a label, for image load' },
    cpus: { type: 'number', default: 0, description: '0: no limit' },
    memory: { type: 'number', default: 0, description: 'MiB; 0: no limit' },
    ports: { type: 'string[]', default: [], description: '[address:]hostPort:containerPort[/proto] to publish (minikube --ports)' },
    listenAddress: { type: 'string', default: '127.0.0.1', description: 'host address the published ports bind to' },
    apiserverPort: { type: 'number', default: 8443, description: 'published on the listen address (control plane), host port chosen by the engine' },
    privileged: {
      type: 'string',
      enum: ['auto', 'always', 'never'],
      default: 'auto',
      description: 'auto: --privileged where the engine can grant it, explicit capabilities otherwise',
    },
    init: { type: 'string', default: '/sbin/init' },
    bootTimeout: { type: 'number', default: 120, description: 'seconds systemd may take to boot' },
  },
  async check(ctx, p) {
    const c = await inspect(ctx, endpoint(p), p.name);
    if (c && !isOurs(c.Config.Labels)) throw conflict(endpoint(p), p.name);
    return !!c && isOurs(c.Config.Labels, ctx.profile) && c.State.Running;
  },
  async outputs(ctx, p) {
    return {
      container: p.name,
      socket: endpoint(p).socket,
      ip: hostAddress(p.subnet, p.nodeIndex + 2),
      apiserverHostPort: hostPortOf((await inspect(ctx, endpoint(p), p.name))!, p.apiserverPort),
    };
  },
  async run(ctx, p) {
    const ep = endpoint(p);
    const existing = await inspect(ctx, ep, p.name);
    if (existing && !isOurs(existing.Config.Labels)) throw conflict(ep, p.name);
    if (existing && !isOurs(existing.Config.Labels, ctx.profile)) {
      throw new UserError('CONTAINER_NAME_CONFLICT', `container ${p.name} belongs to kubestrap profile ${existing.Config.Labels![LABEL.profile]}`, {
        fix: 'choose another profile name (-p)',
      });
    }
    const ip = hostAddress(p.subnet, p.nodeIndex + 2);
    // A node of this profile that exists but stopped (or failed) is made again from scratch.
    if (existing) await ctx.engine(ep, { op: 'container.remove', name: p.name });

    const info = (await ctx.engine(ep, { op: 'info' })).value as { CpuCfsQuota?: boolean; MemoryLimit?: boolean; CgroupVersion?: string };
    const spec = await nodeSpec(ctx, ep, p, ip, info);

    const volumes = (await ctx.engine(ep, { op: 'volume.list', labels: profileLabels(ctx.profile) })).value as string[];
    if (!volumes.includes(p.name)) await ctx.engine(ep, { op: 'volume.create', name: p.name, labels: { ...profileLabels(ctx.profile), [LABEL.role]: p.role } });
    try {
      await ctx.engine(ep, { op: 'container.run', spec });
    } catch (e) {
      throw runError(ep, p.name, e);
    }
    await waitForSystemd(ctx, ep, p.name, p.bootTimeout);
    const started = ctx.mode === 'run' ? await inspect(ctx, ep, p.name) : null;
    return {
      container: p.name,
      socket: ep.socket,
      ip,
      apiserverHostPort: started ? hostPortOf(started, p.apiserverPort) : placeholder(`${ctx.step}: the published API server port`),
    };
  },
});

type P = {
  engine: string;
  name: string;
  image: string;
  network: string;
  role: string;
  runtime: string;
  cpus: number;
  memory: number;
  ports: string[];
  listenAddress: string;
  apiserverPort: number;
  privileged: string;
  init: string;
};

async function nodeSpec(ctx: TaskContext, ep: Endpoint, p: P, ip: string, info: { CpuCfsQuota?: boolean; MemoryLimit?: boolean }): Promise<RunSpec> {
  const privileged = await canBePrivileged(ctx, ep, p.privileged);
  const publish: PortSpec[] = p.role === 'control-plane' ? [{ hostIp: p.listenAddress, hostPort: '', containerPort: p.apiserverPort, protocol: 'tcp' }] : [];
  for (const text of p.ports) publish.push(parsePort(text, p.listenAddress));
  await refuseTakenPorts(ctx, publish);
  let cpus: number | undefined;
  let memoryMb: number | undefined;
  if (p.cpus > 0) {
    if (info.CpuCfsQuota) cpus = p.cpus;
    else {ctx.note(
        'warn',
        `--cpus ${p.cpus} is not applied: the ${ep.engine} engine's cgroups have no CPU quota (CFS) controller`,
        "nodes share all the host's CPUs",
      );}
  }
  if (p.memory > 0) {
    if (info.MemoryLimit) memoryMb = p.memory;
    else {ctx.note(
        'warn',
        `--memory ${p.memory} is not applied: the ${ep.engine} engine's cgroups have no memory controller`,
        "nodes share all the host's memory",
      );}
  }
  const volumes = [`${p.name}:/var${ep.engine === 'podman' ? ':exec' : ''}`];
  if (await ctx.exists('/lib/modules')) volumes.unshift('/lib/modules:/lib/modules:ro');
  const devices = !privileged.yes && (await ctx.exists('/dev/kmsg')) ? ['/dev/kmsg'] : [];
  return {
    name: p.name,
    hostname: p.name,
    image: p.image,
    labels: { ...profileLabels(ctx.profile), [LABEL.role]: p.role, [LABEL.runtime]: p.runtime },
    network: p.network,
    ip,
    privileged: privileged.yes,
    capAdd: privileged.yes ? [] : ['ALL'],
    capDrop: privileged.yes ? [] : privileged.missing,
    // Unprivileged, /proc and /sys are partly masked, and the kernel then refuses runc in the node a
    // fresh procfs for each pod ("mount_too_revealing"): unmask them, as --privileged would.
    securityOpt: [
      'seccomp=unconfined',
      ...(ep.engine === 'docker' ? ['apparmor=unconfined'] : []),
      ...(privileged.yes ? [] : [ep.engine === 'docker' ? 'systempaths=unconfined' : 'unmask=ALL']),
    ],
    // The node's own cgroup namespace (the engines' default only on cgroup v2): systemd in a node
    // that shares the host's would change the host's cgroup mounts (cgroup2 gains nsdelegate).
    cgroupns: 'private',
    tmpfs: ['/run', '/tmp'],
    volumes,
    devices,
    env: [`container=${ep.engine}`],
    stopSignal: 'SIGRTMIN+3',
    ...(cpus !== undefined ? { cpus } : {}),
    ...(memoryMb !== undefined ? { memoryMb } : {}),
    publish,
    ...(privileged.yes ? { args: [p.init] } : { entrypoint: '/bin/sh', args: ['-c', CGROUP_RW_SCRIPT, 'kubestrap-node', p.init] }),
  };
}

/** `auto`: privileged unless the engine cannot grant every capability (then the plan says which are missing). */
async function canBePrivileged(ctx: TaskContext, ep: Endpoint, mode: string): Promise<{ yes: boolean; missing: string[] }> {
  const status = await ctx.probe`cat /proc/self/status`;
  const last = Number((await ctx.probe`cat /proc/sys/kernel/cap_last_cap`).stdout.trim()) || 40;
  const missing = missingCaps(status.stdout, last);
  if (mode === 'always') return { yes: true, missing };
  if (mode === 'never') return { yes: false, missing };
  // Podman hands a privileged container only the capabilities it holds itself.
  if (ep.engine === 'podman' || !missing.length) return { yes: true, missing };
  ctx.note(
    'info',
    `the node runs without --privileged: this machine's capability bounding set lacks ${
      missing.map((c) => `CAP_${c}`).join(', ')
    }, so docker would refuse --privileged ("unable to apply caps: operation not permitted"); it gets every other capability, seccomp and AppArmor unconfined, and its cgroups writable in its own cgroup namespace instead`,
  );
  return { yes: false, missing };
}

function parsePort(text: string, listen: string): PortSpec {
  const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text.trim());
  if (!m) {
    throw new UserError('PORTS_INVALID', `--ports ${JSON.stringify(text)} is not [address:]hostPort:containerPort[/tcp|udp]`, {
      fix: 'for example --ports 8080:80',
    });
  }
  const hostPort = Number(m[2]);
  const containerPort = Number(m[3]);
  if (hostPort < 1 || hostPort > 65535 || containerPort < 1 || containerPort > 65535) {
    throw new UserError('PORTS_INVALID', `--ports ${text}: ports are 1–65535`);
  }
  return { hostIp: m[1] ?? listen, hostPort, containerPort, protocol: (m[4] ?? 'tcp') as 'tcp' | 'udp' };
}

/** A fixed host port that something on this machine already listens on: the plan says so, a run refuses. */
async function refuseTakenPorts(ctx: TaskContext, publish: PortSpec[]): Promise<void> {
  const fixed = publish.filter((x) => x.hostPort !== '');
  if (!fixed.length) return;
  const ss = await ctx.probe`ss -Hltn`;
  const ssu = await ctx.probe`ss -Hlun`;
  for (const x of fixed) {
    const lines = (x.protocol === 'tcp' ? ss : ssu).stdout.split('\n');
    const taken = lines.some((l) => {
      const local = l.trim().split(/\s+/)[3] ?? '';
      const at = local.lastIndexOf(':');
      const addr = local.slice(0, at).replace(/^\[|\]$/g, '');
      return local.slice(at + 1) === String(x.hostPort) && (addr === '*' || addr === '0.0.0.0' || addr === '::' || addr === x.hostIp || x.hostIp === '0.0.0.0');
    });
    if (taken) {
      ctx.block(
        'HOST_PORT_IN_USE',
        `host port ${x.hostIp}:${x.hostPort}/${x.protocol} is already in use on this machine`,
        `choose another host port in --ports, or stop what listens there (ss -ltnp 'sport = :${x.hostPort}')`,
      );
    }
  }
}

async function inspect(ctx: TaskContext, ep: Endpoint, name: string): Promise<Inspect | null> {
  return (await ctx.engine(ep, { op: 'container.inspect', name })).value as Inspect | null;
}

function hostPortOf(c: Inspect, port: number): string {
  return c.NetworkSettings.Ports?.[`${port}/tcp`]?.[0]?.HostPort ?? '';
}

function conflict(ep: Endpoint, name: string): UserError {
  return new UserError('CONTAINER_NAME_CONFLICT', `a container named ${name} exists that kubestrap did not create`, {
    fix: `remove it (${ep.engine} rm -f ${name}) or choose another profile name (-p)`,
  });
}

/** The daemon's refusals users meet, each as one line with the fix. */
function runError(ep: Endpoint, name: string, e: unknown): unknown {
  if (!(e instanceof EngineError)) return e;
  const m = e.daemonMessage;
  if (/address already in use|port is already allocated|bind: /i.test(m)) {
    return new UserError('HOST_PORT_IN_USE', `${name}: a published host port is already in use (${m})`, {
      fix: 'choose other host ports in --ports, or stop what listens there',
    });
  }
  if (/unable to apply caps/i.test(m)) {
    return new UserError('PRIVILEGED_REFUSED', `${ep.engine} refused a privileged container: ${m}`, {
      fix: 'this machine cannot grant every capability: use --set privileged=never (explicit capabilities instead)',
    });
  }
  if (/no such image|not found/i.test(m) && /image/i.test(m)) {
    return new UserError('NODE_IMAGE_MISSING', `${name}: the node image is not in the ${ep.engine} engine (${m})`, {
      fix: 'build it (kubestrap start builds the default image) or load yours and pass --base-image',
    });
  }
  return e;
}

/** Waits until systemd in the node says running (or degraded); the node's journal is in the error otherwise. */
async function waitForSystemd(ctx: TaskContext, ep: Endpoint, name: string, timeoutSec: number): Promise<void> {
  const script = 'until s=$(systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]; do sleep 0.2; done; echo "$s"';
  let result;
  try {
    result = await ctx.engine(ep, { op: 'container.exec', name, argv: ['sh', '-c', script], timeoutMs: timeoutSec * 1000 });
  } catch (e) {
    if (ctx.mode === 'plan') throw e;
    const journal = (await ctx.engine(ep, { op: 'container.journal', name, lines: 30 }).catch(() => null))?.stdout.trim() ||
      (await ctx.engine(ep, { op: 'container.logs', name, tail: 30 }).catch(() => null))?.stdout.trim() || '(no journal)';
    throw new Error(`systemd in node ${name} did not finish booting within ${timeoutSec} s (${(e as Error).message}); its journal ends:\n${journal}`);
  }
  if (ctx.mode === 'run' && result.stdout.trim() === 'degraded') {
    const failed = await ctx.engine(ep, { op: 'container.journal', name, lines: 0 });
    ctx.note('warn', `systemd in ${name} is degraded: ${failed.stdout.trim() || 'some units failed'}`, `see ${ep.engine} exec ${name} systemctl --failed`);
  }
}

// Can this machine host a kubeadm control plane? Read-only: every finding is a probe or a read,
// fatal ones stop the plan with the fix, the rest are notes. It also declares the ports the
// cluster will open, with the addresses they bind, for the audit.
import type { TaskContext } from '../core/context.ts';
import { UserError } from '../core/errors.ts';
import { placeholder } from '../core/placeholder.ts';
import { defineTask } from '../core/task.ts';
import { apiserverPort, extraConfig, kubernetesVersion } from '../options/cluster.ts';
import { taskParam } from '../options/option.ts';
import { kubeadmSetting, parseExtraConfig } from './k8s/extra-config.ts';
import { commandPresent, fileFact } from '../core/facts.ts';
import { ADDRESS_FACTS, ARCH, CPUS, hasCommand, ipv4Addresses, listeningPorts, nodeArch, PORT_FACTS, readIfExists } from './k8s/node-facts.ts';
import { once } from './k8s/once.ts';
import { parseCidr } from './k8s/cni.ts';
import { DEFAULT_POD_SUBNET } from './k8s/kubeadm-yaml.ts';
import { ADMIN_CONF } from './k8s/paths.ts';
import { CGROUP_V1_REFUSED_FROM, DEFAULT_KUBERNETES_VERSION, parseKubernetesVersion, SUPPORTED_MINORS, upstreamSupported } from './k8s/versions.ts';
import { containerdSupports, describeMinimums } from '../runtimes/containerd-support.ts';
import { findBinaries, runtimeBinaries, sourceOf } from '../runtimes/installed.ts';

/** kubeadm's own minimums (its NumCPU and Mem preflight checks). */
const MIN_CPUS = 2;
const MIN_MEMORY_MIB = 1700;

const params = {
  kubernetesVersion: taskParam(kubernetesVersion),
  apiserverPort: taskParam(apiserverPort, true),
  extraConfig: taskParam(extraConfig, true),
  containerRuntime: { type: 'string', default: '', description: 'the runtime the cluster will use: its version is checked against kubernetesVersion' },
  controlPlane: { type: 'boolean', default: true, description: "false: a worker, which opens only the kubelet's and kube-proxy's ports" },
  nodeIp: { type: 'string', default: '', pattern: '([0-9.]+)?', description: "the node's address, which the machine must have; empty: its default route's" },
  // A machine this plan creates cannot be read while planning; what the driver knows of it is given
  // instead (a node container has its engine's kernel: its cgroup version, CPUs and memory), so the
  // plan skips the same kubeadm checks as the run.
  machineCgroupVersion: { type: 'number', default: 2, description: 'a machine this plan creates: the cgroup version it will have' },
  machineCpus: { type: 'number', default: 0, description: 'a machine this plan creates: how many CPUs it will see (0: unknown)' },
  machineMemory: { type: 'number', default: 0, description: 'a machine this plan creates: its memory in MiB (0: unknown)' },
  // /proc/swaps is not namespaced: a node container sees its host's swap, which no plan of a node
  // still to create can read, so kubeadm's Swap check is skipped there in plan and run alike (as
  // kind and minikube do; the kubelet tolerates swap anyway: failSwapOn: false).
  containerNode: { type: 'boolean', default: false, description: "the machine is a node container (it sees its host's swap)" },
} as const;

type Inspected = { minor: number; text: string };

/** kubeadm's NumCPU and Mem checks, skipped (with a warning) where the machine has less. */
function resources(ctx: TaskContext, cpus: number, memMiB: number, ignore: Set<string>): void {
  if (Number.isFinite(cpus) && cpus > 0 && cpus < MIN_CPUS) {
    ignore.add('NumCPU');
    ctx.note('warn', `${cpus} CPU: kubeadm asks for at least ${MIN_CPUS}; the control plane will be slow`);
  }
  if (Number.isFinite(memMiB) && memMiB > 0 && memMiB < MIN_MEMORY_MIB) {
    ignore.add('Mem');
    ctx.note('warn', `${Math.round(memMiB)} MiB of memory: kubeadm asks for at least ${MIN_MEMORY_MIB} MiB`);
  }
}

/** cgroup v1: from 1.35 the kubelet refuses it unless told otherwise, and kubeadm's SystemVerification fails on it. */
function cgroupV1(ctx: TaskContext, cgroupVersion: number, version: Inspected, ignore: Set<string>): void {
  if (cgroupVersion !== 1) return;
  const who = ctx.host === 'local' ? 'this machine' : ctx.host;
  if (version.minor >= CGROUP_V1_REFUSED_FROM) {
    ignore.add('SystemVerification');
    ctx.note(
      'warn',
      `${who} uses cgroup v1, which the kubelet of Kubernetes ${version.text} refuses by default: kubestrap sets failCgroupV1: false in the KubeletConfiguration and skips kubeadm's SystemVerification preflight check, which fails on cgroup v1 (its kernel and cgroup-controller checks are skipped with it); cgroup v1 support is deprecated and will be removed from Kubernetes`,
      'boot with systemd.unified_cgroup_hierarchy=1 to use cgroup v2',
    );
  } else if (version.minor >= 31) {
    ctx.note(
      'warn',
      `${who} uses cgroup v1, which Kubernetes ${version.text} supports only in maintenance mode`,
      'boot with systemd.unified_cgroup_hierarchy=1 to use cgroup v2',
    );
  }
}

/** Tools the next steps install: reported when missing. */
const LATER_TOOLS = ['conntrack', 'socat', 'crictl'];
const API_SERVER_MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
/** Present only where the unified (v2) hierarchy is mounted. */
const CGROUP_V2 = '/sys/fs/cgroup/cgroup.controllers';

interface Listener {
  port: number;
  address: string;
  component: string;
}

/** What the node's components listen on: a worker runs only the kubelet and kube-proxy. */
function listeners(apiserverPort: number, nodeIp: string, controlPlane: boolean): Listener[] {
  const all: Listener[] = [
    { port: apiserverPort, address: '0.0.0.0', component: 'kube-apiserver' },
    { port: 10250, address: '0.0.0.0', component: 'kubelet' },
    { port: 10248, address: '127.0.0.1', component: 'kubelet (healthz)' },
    { port: 10259, address: '127.0.0.1', component: 'kube-scheduler' },
    { port: 10257, address: '127.0.0.1', component: 'kube-controller-manager' },
    { port: 2379, address: '127.0.0.1', component: 'etcd (clients)' },
    { port: 2379, address: nodeIp, component: 'etcd (clients)' },
    { port: 2380, address: nodeIp, component: 'etcd (peers)' },
    { port: 2381, address: '127.0.0.1', component: 'etcd (metrics)' },
    { port: 10249, address: '127.0.0.1', component: 'kube-proxy (metrics)' },
    { port: 10256, address: '0.0.0.0', component: 'kube-proxy (healthz)' },
  ];
  return controlPlane ? all : all.filter((l) => /^kube(let|-proxy)\b/.test(l.component));
}

const isLoopback = (a: string) => a.startsWith('127.');

/** A containerd already on the node is checked against containerd's support matrix for this Kubernetes. */
async function checkRuntimeVersion(ctx: TaskContext, runtime: string, version: { minor: number; text: string }): Promise<void> {
  if (runtime !== 'containerd') return;
  const found = (await findBinaries(ctx, ['containerd'])).get('containerd');
  if (!found?.version || containerdSupports(found.version, version.minor)) return;
  const what = `containerd ${found.version} on ${ctx.host} (${found.path}, ${
    sourceOf(found)
  }) is outside containerd's support for Kubernetes ${version.text} (${describeMinimums(version.minor)})`;
  ctx.note(
    'warn',
    found.owner === 'containerd'
      ? `${what}: the runtime step installs containerd's own release instead`
      : `${what}: the runtime step will not replace it unless allowed`,
    found.owner === 'containerd' ? undefined : 'upgrade it from where it came from, or pass --allow-package-changes',
  );
}

interface InspectParams {
  kubernetesVersion: string;
  apiserverPort: number;
  extraConfig: string[];
  containerRuntime: string;
  controlPlane: boolean;
  nodeIp: string;
  machineCgroupVersion: number;
  machineCpus: number;
  machineMemory: number;
  containerNode: boolean;
}

async function inspect(ctx: TaskContext, p: InspectParams) {
  return once(ctx, 'preflight', async () => {
    const version = parseKubernetesVersion(p.kubernetesVersion);
    const extra = parseExtraConfig(p.extraConfig);
    const ignore = new Set<string>();
    if (!upstreamSupported(version)) {
      ctx.note(
        'warn',
        `Kubernetes v1.${version.minor} no longer gets fixes upstream (supported: ${SUPPORTED_MINORS.map(([m]) => `v1.${m}`).join(', ')})`,
        `use --kubernetes-version ${DEFAULT_KUBERNETES_VERSION} or stable`,
      );
    }
    if (ctx.createdBy) return planned(ctx, p, version, extra);
    const facts = await ctx.facts();

    // Root commands go through sudo -n: it must work without a password prompt.
    if (facts.uid !== 0 && !(await ctx.probe`sudo -n true`).ok) {
      ctx.block(
        'SUDO_REQUIRED',
        `${facts.user} cannot run commands as root without a password (sudo -n true failed on ${ctx.host})`,
        'run sudo -v first so sudo remembers your password, or allow this user passwordless sudo',
      );
    }
    if (!(await hasCommand(ctx, 'systemctl'))) {
      ctx.block(
        'NO_SYSTEMD',
        `systemctl is required: the kubelet runs as a systemd service, and ${ctx.host} has no systemctl`,
        'use a systemd-based Linux (Debian, Ubuntu, Fedora, …)',
      );
    } else if (!(await ctx.exists('/run/systemd/system'))) {
      ctx.block(
        'NO_SYSTEMD',
        `systemd is not running as the init system on ${ctx.host} (no /run/systemd/system)`,
        'use a machine booted with systemd, or a driver that brings its own machine',
      );
    }
    const arch = await nodeArch(ctx);

    const addrs = await ipv4Addresses(ctx);
    if (!addrs.primary) {
      throw new UserError('NO_NODE_IP', `${ctx.host} has no global IPv4 address for the API server to advertise`, {
        fix: 'bring up a network interface with an IPv4 address (kubeadm needs one)',
      });
    }
    // A node on two networks may talk to the others on the one without its default route (qemu's bus).
    if (p.nodeIp && !addrs.global.includes(p.nodeIp)) {
      throw new UserError('NO_NODE_IP', `${ctx.host} has no address ${p.nodeIp} (it has ${addrs.global.join(', ')})`, {
        fix: "the machine's network configuration did not apply: read its console log or cloud-init's log (/var/log/cloud-init.log)",
      });
    }
    const nodeIp = p.nodeIp || addrs.primary;

    // A cluster that kubeadm already initialized holds these ports itself.
    const initialized = (await ctx.exists(ADMIN_CONF)) && (await ctx.exists(API_SERVER_MANIFEST));
    const wanted = listeners(p.apiserverPort, nodeIp, p.controlPlane);
    if (initialized) {
      ctx.note('info', `kubeadm already initialized a control plane here (${ADMIN_CONF} exists): its ports are its own`);
    } else {
      const busy = await listeningPorts(ctx);
      const taken = [...new Map(wanted.filter((l) => busy.has(l.port)).map((l) => [l.port, l])).values()];
      if (taken.length) {
        ctx.block(
          'PORTS_IN_USE',
          `port${taken.length > 1 ? 's' : ''} ${taken.map((l) => `${l.port} (${l.component})`).join(', ')} already in use on ${ctx.host}`,
          `stop what listens there (sudo ss -ltnp shows it)${taken.some((l) => l.port === p.apiserverPort) ? ', or pick another --apiserver-port' : ''}`,
        );
      }
    }
    for (const l of wanted) ctx.listen(l.port, { address: l.address, component: l.component });
    const outside = addrs.global.filter((a) => !isLoopback(a));
    const exposed = wanted.filter((l) => !isLoopback(l.address));
    if (outside.length) {
      ctx.note(
        'warn',
        `${exposed.map((l) => `${l.component} :${l.port}`).join(', ')} will accept connections on ${
          outside.join(', ')
        }: reachable from other machines on those networks`,
        'block these ports in the firewall unless other machines should reach the cluster',
      );
    }

    const swaps = ((await readIfExists(ctx, '/proc/swaps')) ?? '').split('\n').slice(1).filter((l) => l.trim());
    if (p.containerNode) ignore.add('Swap');
    if (swaps.length) {
      ignore.add('Swap');
      ctx.note(
        'warn',
        `swap is on (${
          swaps.map((l) => l.split(/\s+/)[0]).join(', ')
        }): the kubelet is configured to tolerate it (failSwapOn: false), and pods may be swapped out`,
        'sudo swapoff -a turns it off (and remove it from /etc/fstab to keep it off)',
      );
    }
    const cpus = Number((await ctx.fact(CPUS)).stdout.trim());
    const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec((await readIfExists(ctx, '/proc/meminfo')) ?? '')?.[1]);
    resources(ctx, cpus, memKiB / 1024, ignore);
    const cgroupVersion = (await ctx.exists(CGROUP_V2)) ? 2 : 1;
    cgroupV1(ctx, cgroupVersion, version, ignore);
    const missing: string[] = [];
    for (const tool of LATER_TOOLS) if (!(await hasCommand(ctx, tool))) missing.push(tool);
    if (missing.length) ctx.note('info', `not installed yet: ${missing.join(', ')} (kubestrap installs them in the next steps)`);

    await checkRuntimeVersion(ctx, p.containerRuntime, version);
    for (const e of (kubeadmSetting(extra, 'ignore-preflight-errors') ?? '').split(',')) if (e.trim()) ignore.add(e.trim());
    return {
      nodeIp,
      arch,
      initialized,
      cgroupVersion,
      podSubnet: parseCidr(kubeadmSetting(extra, 'pod-network-cidr') ?? DEFAULT_POD_SUBNET, '--extra-config kubeadm.pod-network-cidr'),
      ignorePreflightErrors: [...ignore].sort().join(','),
    };
  });
}

/**
 * A machine that a step of this plan still has to create cannot be inspected: the plan declares its
 * ports with its address as a placeholder and says when the checks happen (the run, once it exists).
 */
function planned(ctx: TaskContext, p: InspectParams, version: Inspected, extra: ReturnType<typeof parseExtraConfig>) {
  // Named by the step that creates it: the host's own name may hold a placeholder (a VM's address), and placeholders do not nest.
  const nodeIp = p.nodeIp || placeholder(`the address of the machine step ${ctx.createdBy!.join(', ')} creates`);
  ctx.note(
    'info',
    `${ctx.host} does not exist yet (step ${ctx.createdBy!.join(', ')} creates it): sudo, systemd, ports, swap, CPU and memory are checked on it in the run`,
  );
  for (const l of listeners(p.apiserverPort, nodeIp, p.controlPlane)) ctx.listen(l.port, { address: l.address, component: l.component });
  // What the driver says the machine will have (else what current images boot: cgroup v2, enough CPUs and memory).
  const ignore = new Set<string>(p.containerNode ? ['Swap'] : []);
  resources(ctx, p.machineCpus, p.machineMemory, ignore);
  const cgroupVersion = p.machineCgroupVersion === 1 ? 1 : 2;
  cgroupV1(ctx, cgroupVersion, version, ignore);
  for (const e of (kubeadmSetting(extra, 'ignore-preflight-errors') ?? '').split(',')) if (e.trim()) ignore.add(e.trim());
  const podSubnet = parseCidr(kubeadmSetting(extra, 'pod-network-cidr') ?? DEFAULT_POD_SUBNET, '--extra-config kubeadm.pod-network-cidr');
  return {
    nodeIp,
    arch: process.arch === 'arm64' ? 'arm64' : 'amd64',
    initialized: false,
    cgroupVersion,
    podSubnet,
    ignorePreflightErrors: [...ignore].sort().join(','),
  };
}

export default defineTask({
  name: 'preflight',
  description: "Check that the machine can host a kubeadm control plane: sudo, systemd, free ports, swap, CPU, memory, the runtime's version (read-only)",
  params,
  facts: () => [
    commandPresent('systemctl'),
    ARCH,
    ...ADDRESS_FACTS,
    ...PORT_FACTS,
    CPUS,
    ...LATER_TOOLS.map(commandPresent),
    runtimeBinaries(),
    ...['/run/systemd/system', ADMIN_CONF, API_SERVER_MANIFEST, '/proc/swaps', '/proc/meminfo', CGROUP_V2].map(fileFact),
  ],
  async check(ctx, p) {
    await inspect(ctx, p);
    return true;
  },
  outputs: (ctx, p) => inspect(ctx, p),
  run: (ctx, p) => inspect(ctx, p),
});

// What the kubelet and kube-proxy need from the machine: conntrack, socat, iptables, ethtool,
// the overlay and br_netfilter kernel modules, and bridged traffic through iptables with
// forwarding on — loaded now and persisted for the next boot.
import type { TaskContext } from '../core/context.ts';
import { commandPresent, fileFact, packageStates } from '../core/facts.ts';
import { defineTask } from '../core/task.ts';
import { hasCommand, readIfExists } from './k8s/node-facts.ts';
import { once } from './k8s/once.ts';
import { MODULES_FILE, SYSCTL_FILE } from './k8s/paths.ts';

/** Command kubeadm or the kubelet look for → the Debian package that has it. */
const TOOLS: [string, string][] = [['conntrack', 'conntrack'], ['socat', 'socat'], ['iptables', 'iptables'], ['ethtool', 'ethtool'], ['ip', 'iproute2']];

const MODULES = ['overlay', 'br_netfilter'];
const MODULES_CONTENT = `# Written by kubestrap: kernel modules the container runtime and kube-proxy need.\n${MODULES.join('\n')}\n`;

const SYSCTLS: [string, string][] = [
  ['net.bridge.bridge-nf-call-iptables', '1'],
  ['net.bridge.bridge-nf-call-ip6tables', '1'],
  ['net.ipv4.ip_forward', '1'],
];
const SYSCTL_CONTENT = `# Written by kubestrap: pods' bridged traffic goes through iptables, and the node forwards it.\n${
  SYSCTLS.map(([k, v]) => `${k} = ${v}`).join('\n')
}\n`;

const procPath = (key: string) => `/proc/sys/${key.replace(/\./g, '/')}`;

async function state(ctx: TaskContext) {
  return once(ctx, 'prepare-node', async () => {
    const packages: string[] = [];
    for (const [tool, pkg] of TOOLS) if (!(await hasCommand(ctx, tool))) packages.push(pkg);
    // A module may be built into the kernel: look for what it provides, not for the module.
    const loaded: Record<string, boolean> = {
      overlay: /\toverlay$/m.test((await readIfExists(ctx, '/proc/filesystems')) ?? ''),
      br_netfilter: await ctx.exists('/proc/sys/net/bridge'),
    };
    const modprobe = MODULES.filter((m) => !loaded[m]);
    const sysctls: [string, string][] = [];
    for (const [key, want] of SYSCTLS) {
      const now = (await readIfExists(ctx, procPath(key)))?.trim();
      // Without br_netfilter loaded the bridge keys do not exist yet: set them after modprobe.
      if (now !== want) sysctls.push([key, want]);
    }
    const files = {
      modules: (await readIfExists(ctx, MODULES_FILE)) === MODULES_CONTENT,
      sysctl: (await readIfExists(ctx, SYSCTL_FILE)) === SYSCTL_CONTENT,
    };
    return { packages, modprobe, sysctls, files };
  });
}

export default defineTask({
  name: 'prepare-node',
  description: 'Install conntrack, socat, iptables, ethtool; load overlay and br_netfilter; turn on bridged iptables and IP forwarding',
  params: {
    allowPackageChanges: { type: 'boolean', default: false, description: 'allow the package transaction to remove or downgrade packages' },
  },
  // All the tools' packages are asked at once: whichever of them turn out missing is a subset.
  facts: () => [
    ...TOOLS.map(([tool]) => commandPresent(tool)),
    packageStates(TOOLS.map(([, pkg]) => pkg)),
    ...['/proc/filesystems', '/proc/sys/net/bridge', ...SYSCTLS.map(([k]) => procPath(k)), MODULES_FILE, SYSCTL_FILE].map(fileFact),
  ],
  async check(ctx) {
    const s = await state(ctx);
    return !s.packages.length && !s.modprobe.length && !s.sysctls.length && s.files.modules && s.files.sysctl;
  },
  async run(ctx, p) {
    const s = await state(ctx);
    if (s.packages.length) await ctx.packages(s.packages, { allowRemovals: p.allowPackageChanges });
    await ctx.write(MODULES_FILE, MODULES_CONTENT, { mode: '0644', sudo: true });
    for (const m of s.modprobe) await ctx.sudo`modprobe ${m}`;
    await ctx.write(SYSCTL_FILE, SYSCTL_CONTENT, { mode: '0644', sudo: true });
    if (s.sysctls.length) await ctx.sudo`sysctl -w ${s.sysctls.map(([k, v]) => `${k}=${v}`)}`;
  },
});

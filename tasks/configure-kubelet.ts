// The kubelet as a systemd service: kubestrap's unit and kubeadm's drop-in, pointing at the
// versioned binary and ordered after the container runtime. Also decides which resolver file the
// kubelet hands to pods (systemd-resolved's stub cannot be used from a pod).
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { containerRuntime, extraConfig } from '../options/cluster.ts';
import { taskParam } from '../options/option.ts';
import { findRuntime } from '../runtimes/index.ts';
import { parseExtraConfig } from './k8s/extra-config.ts';
import { renderKubeletDropIn, renderKubeletUnit } from './k8s/kubelet-units.ts';
import { readIfExists } from './k8s/node-facts.ts';
import { fileFact, unitEnabled } from '../core/facts.ts';

const KUBELET_ENABLED = unitEnabled('kubelet');
import { once } from './k8s/once.ts';
import { KUBELET_DROPIN, KUBELET_UNIT } from './k8s/paths.ts';
import { chooseResolver, ETC_RESOLV, RESOLVED_UPSTREAM } from './k8s/resolv.ts';

const params = {
  binDir: { type: 'string', description: 'where install-kubernetes put the kubelet' },
  runtime: taskParam(containerRuntime, true),
  extraConfig: taskParam(extraConfig, true),
  nodeIp: {
    type: 'string',
    default: '',
    pattern: '([0-9.]+)?',
    description: "--node-ip for the kubelet; empty: kubeadm's (the control plane's), or the default route's address",
  },
} as const;

interface Wanted {
  files: { path: string; content: string; now: string | null }[];
  resolvConf: string;
  enabled: boolean;
}

const unitName = (u: string) => (u.includes('.') ? u : `${u}.service`);

async function wanted(ctx: TaskContext, p: { binDir: string; runtime: string; extraConfig: string[]; nodeIp: string }): Promise<Wanted> {
  return once(ctx, 'kubelet', async () => {
    const extra = parseExtraConfig(p.extraConfig);
    // A worker's kubelet takes its address from here: kubeadm join has no flag for it.
    const nodeIp: [string, string][] = p.nodeIp && !extra.kubelet.some(([k]) => k === 'node-ip') ? [['node-ip', p.nodeIp]] : [];
    const input = {
      kubelet: `${p.binDir}/kubelet`,
      runtimeUnits: findRuntime(p.runtime).services.map(unitName),
      flags: [...nodeIp, ...extra.kubelet],
      profile: ctx.profile,
    };
    const files = [
      { path: KUBELET_UNIT, content: renderKubeletUnit(input) },
      { path: KUBELET_DROPIN, content: renderKubeletDropIn(input) },
    ];
    let resolvConf: string;
    const own = extra.kubelet.find(([k]) => k === 'resolv-conf')?.[1];
    if (own !== undefined) {
      resolvConf = own;
      ctx.note('info', `the kubelet reads ${own} for pods' DNS (--extra-config kubelet.resolv-conf)`);
    } else {
      const choice = chooseResolver(await readIfExists(ctx, ETC_RESOLV), await readIfExists(ctx, RESOLVED_UPSTREAM));
      for (const n of choice.notes) ctx.note(n.level, n.message, n.fix);
      resolvConf = choice.path;
      if (choice.content !== undefined) files.push({ path: choice.path, content: choice.content });
    }
    const withNow = [];
    for (const f of files) withNow.push({ ...f, now: await readIfExists(ctx, f.path) });
    const enabled = (await ctx.fact(KUBELET_ENABLED)).ok;
    return { files: withNow, resolvConf, enabled };
  });
}

export default defineTask({
  name: 'configure-kubelet',
  description: 'Write the kubelet systemd unit and kubeadm drop-in (and a resolver file for pods when needed), enable the kubelet',
  params,
  facts: () => [KUBELET_ENABLED, ...[ETC_RESOLV, RESOLVED_UPSTREAM, KUBELET_UNIT, KUBELET_DROPIN].map(fileFact)],
  async check(ctx, p) {
    const w = await wanted(ctx, p);
    return w.enabled && w.files.every((f) => f.now === f.content);
  },
  outputs: async (ctx, p) => ({ resolvConf: (await wanted(ctx, p)).resolvConf }),
  async run(ctx, p) {
    const w = await wanted(ctx, p);
    for (const f of w.files) await ctx.write(f.path, f.content, { mode: '0644', sudo: true });
    if (w.files.some((f) => f.now !== f.content && f.path.startsWith('/etc/systemd/'))) await ctx.service('systemd', 'daemon-reload');
    // Enabled, not started: kubeadm init starts it once its configuration exists.
    if (!w.enabled) await ctx.service('kubelet', 'enable');
    return { resolvConf: w.resolvConf };
  },
});

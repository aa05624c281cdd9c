// Undoes what the driver graph did to a machine: kubeadm reset, the kubelet stopped and its units
// removed, then every path kubestrap created erased (the plan lists each with its size). The
// container runtime stays installed; backups of the files kubestrap overwrote are listed, not erased.
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { readClaim, refuseOther } from './claim-node.ts';
import { readIfExists } from './k8s/node-facts.ts';
import { once } from './k8s/once.ts';
import { BRIDGE_CONFLIST, BRIDGE_COPY } from './k8s/cni.ts';
import { controlPlaneName, HOSTS_FILE, mergeHostsEntry } from './k8s/hosts-file.ts';
import {
  binDir,
  KUBEADM_CONFIG,
  KUBEADM_RESET_ERASES,
  kubeadmPath,
  KUBELET_DIR,
  KUBELET_DROPIN_DIR,
  KUBELET_UNIT,
  KUBERNETES_DIR,
  MODULES_FILE,
  NODE_DIR,
  SYSCTL_FILE,
} from './k8s/paths.ts';
import { BEFORE_SUFFIX, isOurs, userKubeconfig } from './user-kubeconfig.ts';

/**
 * Erased in this order: the units first (so nothing restarts the kubelet), kubestrap's own directory
 * last. The CNI plugins stay in /opt/cni/bin with the runtime; the bridge configuration goes.
 */
const PATHS = [KUBELET_DROPIN_DIR, KUBELET_UNIT, KUBERNETES_DIR, KUBELET_DIR, BRIDGE_CONFLIST, MODULES_FILE, SYSCTL_FILE, NODE_DIR];

async function state(ctx: TaskContext, backupDir: string) {
  return once(ctx, 'delete', async () => {
    const claim = await readClaim(ctx);
    refuseOther(ctx, claim, "kubestrap deletes only the profile's own cluster");
    const present: string[] = [];
    for (const p of PATHS) {
      // The bridge configuration only when it is kubestrap's (this user may not see into its directory).
      if (p === BRIDGE_CONFLIST && !(await ctx.exists(BRIDGE_COPY))) continue;
      if (await ctx.exists(p)) present.push(p);
    }
    const kubeadm = claim ? `${binDir(claim.kubernetesVersion)}/kubeadm` : undefined;
    const canReset = !!kubeadm && (await ctx.exists(kubeadm)) && (await ctx.exists(KUBERNETES_DIR));
    const socket = /^\s*criSocket:\s*(\S+)/m.exec((await readIfExists(ctx, KUBEADM_CONFIG)) ?? '')?.[1];
    const kubelet = {
      active: (await ctx.probe`systemctl is-active --quiet kubelet`).ok,
      enabled: (await ctx.probe`systemctl is-enabled --quiet kubelet`).ok,
    };
    const kc = await userKubeconfig(ctx);
    const ourKubeconfig = isOurs(await readIfExists(ctx, kc.file), ctx.profile);
    const before = ourKubeconfig && (await ctx.exists(kc.backup));
    const backups = backupDir || `${(await ctx.facts()).home}/.kubestrap/backups/${ctx.profile}`;
    const hostsNow = (await readIfExists(ctx, HOSTS_FILE)) ?? '';
    const hosts = { now: hostsNow, wanted: mergeHostsEntry(hostsNow, controlPlaneName(ctx.profile), undefined) };
    return { hosts, claim, present, kubeadm: canReset ? kubeadm : undefined, socket, kubelet, kc, ourKubeconfig, before, backups };
  });
}

export default defineTask({
  name: 'delete-cluster',
  description: 'Tear the cluster down: kubeadm reset, stop the kubelet, erase every path kubestrap created (sizes in the plan)',
  params: {
    backupDir: {
      type: 'string',
      default: '',
      description: "where the run kept originals of overwritten files (default: the node's ~/.kubestrap/backups/PROFILE)",
    },
  },
  async check(ctx, p) {
    const s = await state(ctx, p.backupDir);
    return !s.present.length && !s.kubelet.active && !s.kubelet.enabled && !s.ourKubeconfig && s.hosts.now === s.hosts.wanted;
  },
  async run(ctx, p) {
    const s = await state(ctx, p.backupDir);
    if (s.kubeadm) {
      const bin = s.kubeadm.slice(0, s.kubeadm.lastIndexOf('/'));
      await ctx.declaring({ label: 'kubeadm reset', erases: KUBEADM_RESET_ERASES })
        .sudo`env ${kubeadmPath(bin)} kubeadm reset -f ${s.socket ? ['--cri-socket', s.socket] : []}`;
    }
    if (s.kubelet.active) await ctx.service('kubelet', 'stop');
    if (s.kubelet.enabled) await ctx.service('kubelet', 'disable');
    for (const path of s.present) await ctx.remove(path, { sudo: true });
    if (s.present.some((x) => x.startsWith('/etc/systemd/'))) await ctx.service('systemd', 'daemon-reload');
    // The control plane's name leaves /etc/hosts; the user's own lines stay.
    if (s.hosts.now !== s.hosts.wanted) await ctx.write(HOSTS_FILE, s.hosts.wanted, { mode: '0644', sudo: true });
    if (s.ourKubeconfig) {
      await ctx.remove(s.kc.file);
      if (s.before) {
        await ctx.$`mv ${s.kc.backup} ${s.kc.file}`;
        ctx.note('info', `${s.kc.file} is back to the one from before the cluster (it was kept as config${BEFORE_SUFFIX})`);
      }
    }
    const listing = await ctx.probe`find ${s.backups} -type f`;
    const files = listing.ok ? listing.stdout.split('\n').filter(Boolean).sort() : [];
    if (files.length) {
      ctx.note(
        'info',
        `originals of the files kubestrap overwrote are kept in ${s.backups}: ${files.map((f) => f.slice(s.backups.length)).join(', ')}`,
        `restore one with sudo cp -p ${s.backups}/PATH /PATH`,
      );
    } else {
      ctx.note('info', `kubestrap overwrote no existing files on ${ctx.host} (no backups in ${s.backups})`);
    }
    ctx.note('info', "the container runtime stays installed and running with kubestrap's configuration");
  },
});

// The pod network on a node: the CNI plugins where the runtime looks for them (/opt/cni/bin), and
// for --cni bridge the bridge configuration with the pod subnet; for a multi-node CNI or a manifest
// of the user's, the manifest put on the node for apply-cni to apply after kubeadm init.
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import {
  BRIDGE_CONFLIST,
  BRIDGE_COPY,
  bridgeConflist,
  type Cni,
  CNI_BIN_DIR,
  CNI_CONF_DIR,
  CNI_DIR,
  CNI_MANIFEST,
  CNI_PLUGINS,
  CNI_PLUGINS_VERSION,
  cniPluginsTarball,
  DEFAULT_CNI_PLUGINS_MIRROR,
  parseCidr,
  parseCni,
} from './k8s/cni.ts';
import { ARCH, ARCHES, nodeArch, readIfExists } from './k8s/node-facts.ts';
import { commandFact, dirListing, fileDigest, fileFact, statFact } from '../core/facts.ts';
import { once } from './k8s/once.ts';
import { membersInPlace } from '../runtimes/archive.ts';
import { parseChecksum } from './install-kubernetes.ts';
import { DEFAULT_POD_SUBNET } from './k8s/kubeadm-yaml.ts';

/** $1 the release tarball, $2 the plugin directory, then the members (./NAME): exit 0 when each has the member's content. */
const SAME_PLUGINS = membersInPlace(0);

/** The network flannel's published manifest configures (its net-conf.json). */
const FLANNEL_NETWORK = '10.244.0.0/16';

const params = {
  cni: { type: 'string', default: 'auto', description: "minikube's --cni: auto, bridge, flannel, calico, cilium, false, or a manifest's absolute path" },
  nodes: { type: 'number', default: 1, description: 'how many nodes the cluster has (auto: bridge for one)' },
  podSubnet: { type: 'string', default: DEFAULT_POD_SUBNET, description: "the pods' addresses (kubeadm's podSubnet)" },
  pluginsMirror: { type: 'string', default: DEFAULT_CNI_PLUGINS_MIRROR, description: 'base URL: BASE/VERSION/cni-plugins-linux-ARCH-VERSION.tgz (+ .sha256)' },
  controlPlane: { type: 'boolean', default: true, description: 'false: a worker, which needs the plugins but not the manifest (the control plane applies it)' },
} as const;

type P = { cni: string; nodes: number; podSubnet: string; pluginsMirror: string; controlPlane: boolean };

/** Whether this node keeps a manifest for apply-cni: only the control plane applies one. */
const hasManifest = (cni: Cni, controlPlane: boolean) => controlPlane && (cni.kind === 'file' || cni.kind === 'manifest');

async function sha256Of(ctx: TaskContext, path: string): Promise<string | undefined> {
  return (await ctx.fact(fileDigest(path))).stdout.trim() || undefined;
}

/** Where the plugins' tarball is kept, for each architecture (the node's is known only after the gathering). */
const TARBALLS = ARCHES.map((a) => `${CNI_DIR}/${cniPluginsTarball(a)}`);

const CONF_VISIBLE = commandFact`test -r ${CNI_CONF_DIR} -a -x ${CNI_CONF_DIR}`;
const CONF_LISTING = dirListing(CNI_CONF_DIR);

/** The plugins' release for the node's architecture: where it comes from, its checksum, where the node keeps it. */
export async function pluginsRelease(ctx: TaskContext, mirror: string) {
  return once(ctx, 'cni-plugins-release', async () => {
    const name = cniPluginsTarball(await nodeArch(ctx));
    const url = `${mirror.replace(/\/+$/, '')}/${CNI_PLUGINS_VERSION}/${name}`;
    const sha256 = parseChecksum(await ctx.fetchText(`${url}.sha256`), `${url}.sha256`);
    return { name, url, sha256, tarball: `${CNI_DIR}/${name}`, members: CNI_PLUGINS.map((n) => `./${n}`) };
  });
}

async function state(ctx: TaskContext, p: P) {
  return once(ctx, 'install-cni', async () => {
    const cni = parseCni(p.cni, p.nodes);
    const podSubnet = parseCidr(p.podSubnet, 'podSubnet');
    const arch = await nodeArch(ctx);
    const { url, sha256, tarball, members } = await pluginsRelease(ctx, p.pluginsMirror);
    const haveTarball = (await sha256Of(ctx, tarball)) === sha256;
    // Every plugin in /opt/cni/bin is byte for byte the release's (contents only: owner and times may differ).
    const binDirExists = await ctx.exists(CNI_BIN_DIR);
    const pluginsMatch = haveTarball && (await ctx.probe`sh -c ${SAME_PLUGINS} sh ${tarball} ${CNI_BIN_DIR} ${members}`).ok;
    const config = cni.kind === 'bridge' ? { path: BRIDGE_CONFLIST, content: bridgeConflist(podSubnet) } : undefined;
    const visible = !(await ctx.exists(CNI_CONF_DIR)) || (await ctx.fact(CONF_VISIBLE)).ok;
    const copyNow = config ? await readIfExists(ctx, BRIDGE_COPY) : null;
    const configNow = config ? (visible ? await readIfExists(ctx, config.path) : copyNow) : null;
    const listing = await ctx.fact(CONF_LISTING);
    const others = listing.stdout.split('\n').filter((f) => /\.(conf|conflist|json)$/.test(f) && `${CNI_CONF_DIR}/${f}` !== BRIDGE_CONFLIST);
    const manifestNow = hasManifest(cni, p.controlPlane) ? await sha256Of(ctx, CNI_MANIFEST) : undefined;
    return {
      cni,
      podSubnet,
      arch,
      url,
      sha256,
      tarball,
      haveTarball,
      pluginsMatch,
      members,
      binDirExists,
      config,
      configNow,
      copyNow,
      visible,
      others,
      manifestNow,
    };
  });
}

function outputsOf(cni: Cni, controlPlane: boolean) {
  return { manifest: hasManifest(cni, controlPlane) ? CNI_MANIFEST : '', binDir: CNI_BIN_DIR };
}

export default defineTask({
  name: 'install-cni',
  description: `Install the CNI plugins (${CNI_PLUGINS_VERSION}, checksummed, cached) into ${CNI_BIN_DIR} and the pod network's configuration or manifest`,
  params,
  facts: () => [
    ARCH,
    ...TARBALLS.map(fileDigest),
    fileDigest(CNI_MANIFEST),
    CONF_VISIBLE,
    CONF_LISTING,
    ...[CNI_BIN_DIR, CNI_CONF_DIR, BRIDGE_COPY, BRIDGE_CONFLIST].map(fileFact),
    ...[...TARBALLS, ...CNI_PLUGINS.map((n) => `${CNI_BIN_DIR}/${n}`)].map(statFact),
  ],
  async check(ctx, p) {
    const s = await state(ctx, p);
    // A manifest is put again on every run: its source has no checksum to compare with.
    return s.pluginsMatch && (!s.config || (s.configNow === s.config.content && s.copyNow === s.config.content)) && !hasManifest(s.cni, p.controlPlane);
  },
  outputs: async (ctx, p) => outputsOf((await state(ctx, p)).cni, p.controlPlane),
  async run(ctx, p) {
    const s = await state(ctx, p);
    if (!s.pluginsMatch) {
      if (!s.haveTarball) {
        const cached = await ctx.download(s.url, { sha256: s.sha256 });
        await ctx.put(cached, s.tarball, { mode: '0644', sudo: true, sha256: s.sha256 });
      }
      if (!s.binDirExists) await ctx.sudo`mkdir -p ${CNI_BIN_DIR}`;
      // Only the plugins named: the plan lists exactly the files tar writes (and backs up any it replaces).
      await ctx.declaring({ label: 'tar', writes: CNI_PLUGINS.map((n) => `${CNI_BIN_DIR}/${n}`) })
        .sudo`tar -xzf ${s.tarball} -C ${CNI_BIN_DIR} --no-same-owner ${s.members}`;
    }
    if (s.config && s.configNow !== s.config.content) await ctx.write(s.config.path, s.config.content, { mode: '0644', sudo: true });
    if (s.config && s.copyNow !== s.config.content) await ctx.write(BRIDGE_COPY, s.config.content, { mode: '0644', sudo: true });
    if (s.config && !s.visible) {
      ctx.note('info', `${CNI_CONF_DIR} is readable by root only (containerd makes it so): this plan compares kubestrap's copy ${BRIDGE_COPY} instead`);
    }
    if (s.config && s.others.length) {
      ctx.note(
        'warn',
        `${CNI_CONF_DIR} also holds ${s.others.join(', ')}: the runtime uses the first by name (${BRIDGE_CONFLIST.split('/').pop()} sorts first)`,
        `remove the others if they are left from another cluster`,
      );
    }
    if (!p.controlPlane) return outputsOf(s.cni, false);
    if (s.cni.kind === 'manifest' && s.cni.name === 'flannel' && s.podSubnet !== FLANNEL_NETWORK) {
      ctx.note(
        'warn',
        `flannel's manifest assigns pods from ${FLANNEL_NETWORK}, not the cluster's pod subnet ${s.podSubnet}`,
        `use --extra-config kubeadm.pod-network-cidr=${FLANNEL_NETWORK}, or a flannel manifest of yours with net-conf.json changed`,
      );
    }
    if (s.cni.kind === 'manifest') {
      const cached = await ctx.download(s.cni.url, { name: `${s.cni.name}.yaml` });
      await ctx.put(cached, CNI_MANIFEST, { mode: '0644', sudo: true });
      ctx.note(
        'info',
        `the ${s.cni.name} manifest is applied after kubeadm init; its project publishes no checksum for it`,
        'pass --cni with the path of a manifest you reviewed to pin it',
      );
    }
    // The user's manifest is read on this machine and put on the node like a download.
    if (s.cni.kind === 'file') await ctx.put(s.cni.path, CNI_MANIFEST, { mode: '0644', sudo: true });
    if (s.cni.kind === 'none') ctx.note('info', '--cni false: no pod network is configured; nodes stay NotReady until you apply one');
    return outputsOf(s.cni, true);
  },
});

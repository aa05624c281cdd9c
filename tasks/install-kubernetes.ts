// kubelet, kubeadm and kubectl at exactly the requested version, plus the crictl kubeadm needs,
// into a versioned directory on the node. Downloads are checked against the checksum files the
// release publishes beside each binary, and cached under $KUBESTRAP_HOME on this machine.
import type { TaskContext } from '../core/context.ts';
import { parseChecksum as parseSha256File } from '../core/checksum.ts';
import { fileDigest, statFact } from '../core/facts.ts';
import { defineTask } from '../core/task.ts';
import { binaryMirror, criToolsMirror, kubernetesVersion } from '../options/cluster.ts';
import { taskParam } from '../options/option.ts';
import { once } from './k8s/once.ts';
import { binDir } from './k8s/paths.ts';
import { ARCH, ARCHES, nodeArch } from './k8s/node-facts.ts';
import { crictlTarball, crictlVersion, parseKubernetesVersion } from './k8s/versions.ts';

export const BINARIES = ['kubelet', 'kubeadm', 'kubectl'] as const;

const params = {
  kubernetesVersion: taskParam(kubernetesVersion),
  binaryMirror: taskParam(binaryMirror, true),
  criToolsMirror: taskParam(criToolsMirror, true),
} as const;

interface Artifact {
  name: string;
  url: string;
  sha256: string;
  dest: string;
}

/** A checksum file holds the hex digest, alone or followed by the file name. */
export function parseChecksum(text: string, url: string): string {
  return parseSha256File(text, url, 'check the mirror URL (--binary-mirror)');
}

const trim = (u: string) => u.replace(/\/+$/, '');

export async function artifacts(ctx: TaskContext, p: { kubernetesVersion: string; binaryMirror: string; criToolsMirror: string }) {
  return once(ctx, 'artifacts', async () => {
    const v = parseKubernetesVersion(p.kubernetesVersion);
    const arch = await nodeArch(ctx);
    const dir = binDir(v.text);
    const list: Artifact[] = [];
    for (const name of BINARIES) {
      const url = `${trim(p.binaryMirror)}/${v.text}/bin/linux/${arch}/${name}`;
      list.push({ name, url, sha256: parseChecksum(await ctx.fetchText(`${url}.sha256`), `${url}.sha256`), dest: `${dir}/${name}` });
    }
    const cv = crictlVersion(v);
    const tarball = crictlTarball(cv, arch);
    const crictlUrl = `${trim(p.criToolsMirror)}/${cv}/${tarball}`;
    const crictl = {
      name: tarball,
      url: crictlUrl,
      sha256: parseChecksum(await ctx.fetchText(`${crictlUrl}.sha256`), `${crictlUrl}.sha256`),
      dest: `${dir}/${tarball}`,
    };
    return { dir, list, crictl, crictlVersion: cv };
  });
}

async function sha256Of(ctx: TaskContext, path: string): Promise<string | undefined> {
  if (!(await ctx.exists(path))) return undefined;
  const r = await ctx.fact(fileDigest(path));
  return r.ok ? r.stdout.trim() : undefined;
}

/** What is on the node already: each binary by checksum, crictl by its tarball and its version. */
async function state(ctx: TaskContext, p: Parameters<typeof artifacts>[1]) {
  return once(ctx, 'installed', async () => {
    const a = await artifacts(ctx, p);
    const missing: Artifact[] = [];
    for (const item of a.list) if ((await sha256Of(ctx, item.dest)) !== item.sha256) missing.push(item);
    const tarball = (await sha256Of(ctx, a.crictl.dest)) === a.crictl.sha256;
    const crictl = `${a.dir}/crictl`;
    const version = (await ctx.exists(crictl)) ? await ctx.probe`${crictl} --version` : undefined;
    const crictlWorks = !!version?.ok && version.stdout.includes(a.crictlVersion);
    return { ...a, missing, tarball, crictlWorks };
  });
}

export default defineTask({
  name: 'install-kubernetes',
  description: 'Install kubelet, kubeadm, kubectl and crictl at the exact version into /var/lib/kubestrap/binaries/VERSION (checksummed, cached downloads)',
  params,
  // Stats and digests, never the bytes: these are binaries of tens of megabytes. crictl's tarball
  // is named for the node's architecture, not known before the gathering: both are asked.
  facts: (p) => {
    const v = parseKubernetesVersion(p.kubernetesVersion);
    const dir = binDir(v.text);
    const tarballs = ARCHES.map((a) => `${dir}/${crictlTarball(crictlVersion(v), a)}`);
    const binaries = BINARIES.map((b) => `${dir}/${b}`);
    return [ARCH, ...[...binaries, `${dir}/crictl`, ...tarballs].map(statFact), ...[...binaries, ...tarballs].map(fileDigest)];
  },
  async check(ctx, p) {
    const s = await state(ctx, p);
    return !s.missing.length && s.tarball && s.crictlWorks;
  },
  outputs: async (ctx, p) => ({ binDir: (await artifacts(ctx, p)).dir }),
  async run(ctx, p) {
    const s = await state(ctx, p);
    for (const item of s.missing) {
      const cached = await ctx.download(item.url, { sha256: item.sha256 });
      await ctx.put(cached, item.dest, { mode: '0755', sudo: true, sha256: item.sha256 });
    }
    // The release tarball stays beside crictl: its checksum is how a later run knows crictl is the one asked for.
    if (!s.tarball) {
      const cached = await ctx.download(s.crictl.url, { sha256: s.crictl.sha256 });
      await ctx.put(cached, s.crictl.dest, { mode: '0644', sudo: true, sha256: s.crictl.sha256 });
    }
    if (!s.tarball || !s.crictlWorks) await ctx.sudo`tar -xzf ${s.crictl.dest} -C ${s.dir} crictl`;
    ctx.note('info', `kubectl for this cluster: ${s.dir}/kubectl (kubestrap does not put it on PATH)`);
    return { binDir: s.dir };
  },
});

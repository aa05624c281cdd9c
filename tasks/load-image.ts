// kind's `load docker-image`, minikube's `image load`: an image from the local engine streamed into
// the runtime of every node of the profile (docker save | exec import), no registry in between.
// A node that already has the image by its ID is left as it is.
import { UserError } from '../core/errors.ts';
import { defineTask } from '../core/task.ts';
import type { TaskContext } from '../core/context.ts';
import { endpoint, ENGINE_PARAMS, LABEL, profileLabels } from './container/common.ts';

/** How each runtime in a node takes an image archive on stdin, and lists what it has. */
const IMPORT: Record<string, { load: string[]; list: string[] }> = {
  containerd: { load: ['ctr', '--namespace', 'k8s.io', 'images', 'import', '-'], list: ['ctr', '--namespace', 'k8s.io', 'images', 'ls'] },
  docker: { load: ['docker', 'load'], list: ['docker', 'images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'] },
  'cri-o': { load: ['podman', 'load'], list: ['podman', 'images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'] },
};

/** docker.io/library/name:tag, the way containerd names what `docker save` gives it. */
export function fullReference(ref: string): string {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  let r = slash < 0 ? `docker.io/library/${ref}` : /[.:]/.test(first) || first === 'localhost' ? ref : `docker.io/${ref}`;
  if (!r.slice(r.lastIndexOf('/') + 1).includes(':') && !r.includes('@')) r += ':latest';
  return r;
}

async function nodes(ctx: TaskContext, p: { engine: string; socket: string; image: string }) {
  const ep = endpoint(p);
  const image = (await ctx.engine(ep, { op: 'image.inspect', image: p.image })).value as { Id: string; RepoTags?: string[] } | null;
  if (!image) {
    throw new UserError('IMAGE_NOT_FOUND', `image ${p.image} is not in the local ${ep.engine}`, {
      fix: `build or pull it first (${ep.engine} images lists what is there)`,
    });
  }
  const wanted = nodeReference(p.image, image.RepoTags ?? []);
  const all = (await ctx.engine(ep, { op: 'container.list', labels: profileLabels(ctx.profile) })).value as {
    name: string;
    state: string;
    labels: Record<string, string>;
  }[];
  if (!all.length) {
    throw new UserError('PROFILE_NO_NODES', `profile ${ctx.profile} has no node containers on ${ep.engine}`, {
      fix: `start it first: kubestrap start -p ${ctx.profile} --driver ${ep.engine}`,
    });
  }
  const out: { name: string; runtime: string; has: boolean }[] = [];
  for (const c of all) {
    if (c.state !== 'running') {
      throw new UserError('NODE_NOT_RUNNING', `node ${c.name} of profile ${ctx.profile} is ${c.state}`, { fix: `start it: kubestrap start -p ${ctx.profile}` });
    }
    const runtime = c.labels[LABEL.runtime] ?? 'containerd';
    const how = IMPORT[runtime];
    if (!how) throw new UserError('RUNTIME_UNKNOWN', `node ${c.name} runs ${runtime}, which kubestrap cannot load images into`);
    const listed = await ctx.engine(ep, { op: 'container.probe', name: c.name, argv: how.list });
    // containerd lists a manifest digest, not the image ID: there the reference decides; the
    // docker and podman CLIs in a node show the ID, so a rebuilt image under the same tag loads again.
    const has = listed.stdout.split('\n').some((l) => {
      const [ref, second] = l.trim().split(/\s+/);
      if (ref !== wanted) return false;
      return runtime === 'containerd' || second === image.Id;
    });
    out.push({ name: c.name, runtime, has });
  }
  return { ep, nodes: out, wanted };
}

/**
 * The name the nodes' runtime gets: the archive carries the engine's own tag. Podman keeps a short
 * name as localhost/NAME, and that is what a pod must then ask for.
 */
export function nodeReference(ref: string, repoTags: readonly string[]): string {
  const tags = new Set(repoTags.map(fullReference));
  const local = fullReference(`localhost/${ref}`);
  return !tags.has(fullReference(ref)) && tags.has(local) ? local : fullReference(ref);
}

export default defineTask({
  name: 'load-image',
  description: "Put an image from the local Docker/Podman into every node's container runtime",
  params: { ...ENGINE_PARAMS, image: { type: 'string', description: 'the image reference in the local engine' } },
  async check(ctx, p) {
    return (await nodes(ctx, p)).nodes.every((n) => n.has);
  },
  async run(ctx, p) {
    const { ep, nodes: list, wanted } = await nodes(ctx, p);
    if (wanted !== fullReference(p.image)) {
      ctx.note('info', `${ep.engine} names ${p.image} ${wanted}: the nodes get it under that name, and a pod must ask for ${wanted}`);
    }
    // Every node at once, like kind: each gets its own stream of the image.
    await Promise.all(
      list.filter((n) => !n.has).map(async (n) => {
        const r = await ctx.engine(ep, { op: 'image.pipe', image: p.image, name: n.name, argv: IMPORT[n.runtime]!.load });
        if (ctx.mode === 'run' && r.exitCode !== 0) {
          throw new Error(`loading ${p.image} into ${n.name} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
        }
      }),
    );
    return { nodes: list.map((n) => n.name), image: wanted };
  },
});

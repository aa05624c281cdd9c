// A context named after the profile, merged into the user's ~/.kube/config on this machine,
// pointing at the API server's port published on the listen address (kind's and minikube's way
// for container nodes). Other clusters, users and contexts in the file are kept; the file is
// written atomically, mode 0600, and its content (client keys) never appears in a plan.
import { parseDocument, stringify } from 'yaml';
import { UserError } from '../core/errors.ts';
import { defineTask } from '../core/task.ts';
import type { TaskContext } from '../core/context.ts';
import { endpoint, ENGINE_PARAMS } from './container/common.ts';
import { ADMIN_CONF } from './k8s/paths.ts';
import { readIfExists } from './k8s/node-facts.ts';

type Named = { name: string; [k: string]: unknown };
interface KubeConfig {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  'current-context'?: string;
  preferences?: unknown;
  [k: string]: unknown;
}

/** The admin kubeconfig renamed to the profile and pointed at `server`, merged into `current` (or a new file). */
export function mergeKubeconfig(current: string | null, admin: string, profile: string, server: string): string {
  const a = parseDocument(admin).toJS() as KubeConfig;
  const cluster = a.clusters?.[0]?.cluster as Record<string, unknown> | undefined;
  const user = a.users?.[0]?.user;
  if (!cluster || !user) throw new Error("the node's admin kubeconfig has no cluster or user");
  const base: KubeConfig = current?.trim() ? (parseDocument(current).toJS() as KubeConfig) ?? {} : {};
  const put = (list: Named[] | undefined, entry: Named) => [...(list ?? []).filter((x) => x.name !== entry.name), entry];
  const out: KubeConfig = {
    ...base,
    apiVersion: 'v1',
    kind: 'Config',
    clusters: put(base.clusters, { name: profile, cluster: { ...cluster, server } }),
    users: put(base.users, { name: profile, user }),
    contexts: put(base.contexts, { name: profile, context: { cluster: profile, user: profile } }),
    'current-context': profile,
  };
  return stringify(out);
}

export default defineTask({
  name: 'container-kubeconfig',
  description: "Merge a context named after the profile into ~/.kube/config, pointing at the API server's published port",
  params: {
    ...ENGINE_PARAMS,
    container: { type: 'string', description: 'the control-plane node container' },
    listenAddress: { type: 'string', default: '127.0.0.1' },
    apiserverHostPort: { type: 'string', description: 'the host port the engine published the API server on' },
  },
  async run(ctx, p) {
    const { home } = await ctx.facts();
    const file = `${home}/.kube/config`;
    const server = `https://${p.listenAddress}:${p.apiserverHostPort}`;
    const admin = await adminConf(ctx, p);
    const current = await readIfExists(ctx, file);
    const merged = admin === null ? `<output of ${ctx.step}: the merged kubeconfig>` : mergeKubeconfig(current, admin, ctx.profile, server);
    await ctx.write(file, merged, { mode: '0600', secret: 'kubeconfig' });
    ctx.note('info', `kubectl --context ${ctx.profile} reaches the cluster at ${server}`);
    return { kubeconfig: file, context: ctx.profile, server };
  },
});

/** admin.conf from the control-plane node; null while planning a node that does not exist yet. */
async function adminConf(ctx: TaskContext, p: { engine: string; socket: string; container: string }): Promise<string | null> {
  const ep = endpoint(p);
  const node = (await ctx.engine(ep, { op: 'container.inspect', name: p.container })).value;
  if (!node) {
    if (ctx.mode === 'plan') return null;
    throw new UserError('NODE_MISSING', `the control-plane node ${p.container} does not exist`, { fix: 'start the profile again' });
  }
  const r = await ctx.engine(ep, { op: 'container.probe', name: p.container, argv: ['cat', ADMIN_CONF] });
  if (r.exitCode !== 0) {
    if (ctx.mode === 'plan') return null;
    throw new Error(`reading ${ADMIN_CONF} in ${p.container} failed: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

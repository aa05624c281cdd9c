// A worker joins the cluster with a join command made on the control plane at run time (a fresh
// bootstrap token with a short lifetime). The command goes from one node to the other through the
// engine: it is never a command-line argument, an output line, an event or part of an error; a
// plan shows it as a placeholder (the shell variable a reader would set to replay it).
import { defineTask } from '../core/task.ts';
import type { TaskContext } from '../core/context.ts';
import { endpoint, ENGINE_PARAMS } from './container/common.ts';
import { scrubSecrets } from './container/secrets.ts';
import { binDir } from './k8s/paths.ts';
import { parseKubernetesVersion } from './k8s/versions.ts';
import { findRuntime } from '../runtimes/index.ts';

export const JOIN_VAR = 'KUBESTRAP_JOIN_COMMAND';
/** Runs the join command read from stdin with the node's own settings; kubeadm's path replaces the bare name. */
export const JOIN_SCRIPT = 'read -r join; kubeadm=$1; shift; exec "$kubeadm" ${join#kubeadm } "$@"';

/** The worker's own settings after the control plane's join command: its name, CRI socket, preflight errors ignored. */
export function joinFlags(nodeName: string, runtime: string, ignorePreflightErrors: readonly string[]): string[] {
  return [
    '--node-name',
    nodeName,
    '--cri-socket',
    findRuntime(runtime).criSocket,
    ...(ignorePreflightErrors.length ? [`--ignore-preflight-errors=${ignorePreflightErrors.join(',')}`] : []),
  ];
}

async function joined(ctx: TaskContext, p: { engine: string; socket: string; worker: string }): Promise<boolean> {
  return (await ctx.engine(endpoint(p), { op: 'container.probe', name: p.worker, argv: ['test', '-e', '/etc/kubernetes/kubelet.conf'] })).exitCode === 0;
}

export default defineTask({
  name: 'kubeadm-join',
  description: 'Join a worker node with a join command made on the control plane (the token never appears)',
  params: {
    ...ENGINE_PARAMS,
    controlPlane: { type: 'string', description: 'the control-plane node container' },
    worker: { type: 'string', description: 'the worker node container' },
    kubernetesVersion: { type: 'string', description: 'kubeadm is where install-kubernetes put it for this version' },
    runtime: { type: 'string', default: 'containerd', description: "the worker joins with this runtime's CRI socket" },
    // minikube's join ignores every preflight error; kind skips preflight. The init's preflight already ran on the same image.
    ignorePreflightErrors: { type: 'string[]', default: ['all'] },
    tokenTtl: { type: 'string', default: '15m', description: 'the bootstrap token expires after this' },
  },
  check: (ctx, p) => joined(ctx, p),
  async run(ctx, p) {
    const ep = endpoint(p);
    const kubeadm = `${binDir(parseKubernetesVersion(p.kubernetesVersion).text)}/kubeadm`;
    const made = await ctx.engine(ep, {
      op: 'container.exec',
      name: p.controlPlane,
      argv: [kubeadm, 'token', 'create', '--ttl', p.tokenTtl, '--print-join-command'],
    });
    if (ctx.mode === 'run' && made.exitCode !== 0) {
      throw new Error(`kubeadm token create on ${p.controlPlane} failed (exit ${made.exitCode}): ${scrubSecrets(made.stderr.trim() || made.stdout.trim())}`);
    }
    const command = made.stdout.trim();
    const args = joinFlags(p.worker, p.runtime, p.ignorePreflightErrors);
    const r = await ctx.engine(ep, {
      op: 'container.exec',
      name: p.worker,
      argv: ['sh', '-c', JOIN_SCRIPT, 'kubeadm-join', kubeadm, ...args],
      stdin: `${command}\n`,
      stdinVar: JOIN_VAR,
    });
    if (ctx.mode === 'run' && r.exitCode !== 0) {
      throw new Error(`kubeadm join on ${p.worker} failed (exit ${r.exitCode}): ${scrubSecrets(r.stderr.trim().split('\n').slice(-5).join(' | '))}`);
    }
  },
});

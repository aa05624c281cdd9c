// A small CRI client for the tests (crictl is not packaged by Debian and cannot be downloaded here):
// gRPC over the runtime's unix socket with the few calls `crictl runp`, `create`, `start`,
// `inspectp` and `exec` make. It speaks to the real runtime; nothing is simulated.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { repoRoot } from './env.ts';

const PROTO = join(repoRoot, 'test/fixtures/cri/runtime-subset.proto');

type Call = (request: object, options: { deadline: Date }, done: (err: grpc.ServiceError | null, reply: unknown) => void) => void;

export interface PodSandbox {
  id: string;
  state: string;
  ip: string;
}

export interface CriClient {
  version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }>;
  /** crictl runp: a pod sandbox with the runtime's sandbox (pause) image and the node's CNI network. */
  runPodSandbox(name: string): Promise<string>;
  podSandboxStatus(id: string): Promise<PodSandbox>;
  /** crictl create + start. */
  runContainer(sandboxId: string, sandboxName: string, image: string, command: string[]): Promise<string>;
  containerState(id: string): Promise<string>;
  execSync(id: string, cmd: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }>;
  removePodSandbox(id: string): Promise<void>;
  close(): void;
}

function sandboxConfig(name: string) {
  return {
    metadata: { name, uid: `${name}-uid`, namespace: 'kubestrap-test', attempt: 0 },
    hostname: name,
    logDirectory: `/var/log/pods/${name}`,
    labels: { 'kubestrap.test': name },
    // What the kubelet passes with the systemd cgroup driver: a slice, which runc requires then.
    linux: { cgroupParent: 'kubestrap.slice' },
  };
}

/** `socket` is a path the test process can reach, e.g. /proc/PID/root/run/containerd/containerd.sock. */
export function criClient(socket: string, timeoutMs = 60_000): CriClient {
  const definition = loader.loadSync(PROTO, { keepCase: false, longs: Number, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor } } };
  const client = new pkg.runtime.v1.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure()) as unknown as Record<string, Call> & grpc.Client;
  const call = <T>(method: string, request: object): Promise<T> =>
    new Promise((resolve, reject) => {
      client[method]!.call(
        client,
        request,
        { deadline: new Date(Date.now() + timeoutMs) },
        (err, reply) => (err ? reject(new Error(`CRI ${method}: ${err.details || err.message}`)) : resolve(reply as T)),
      );
    });
  return {
    version: () => call('Version', { version: 'v1' }),
    async runPodSandbox(name) {
      return (await call<{ podSandboxId: string }>('RunPodSandbox', { config: sandboxConfig(name) })).podSandboxId;
    },
    async podSandboxStatus(id) {
      const r = await call<{ status: { id: string; state: string; network?: { ip: string } } }>('PodSandboxStatus', { podSandboxId: id });
      return { id: r.status.id, state: r.status.state, ip: r.status.network?.ip ?? '' };
    },
    async runContainer(sandboxId, sandboxName, image, command) {
      const created = await call<{ containerId: string }>('CreateContainer', {
        podSandboxId: sandboxId,
        config: { metadata: { name: 'main', attempt: 0 }, image: { image }, command, logPath: 'main.log' },
        sandboxConfig: sandboxConfig(sandboxName),
      });
      await call('StartContainer', { containerId: created.containerId });
      return created.containerId;
    },
    async containerState(id) {
      return (await call<{ status: { state: string } }>('ContainerStatus', { containerId: id })).status.state;
    },
    async execSync(id, cmd) {
      const r = await call<{ stdout: Buffer; stderr: Buffer; exitCode: number }>('ExecSync', { containerId: id, cmd, timeout: 30 });
      return { stdout: Buffer.from(r.stdout).toString('utf8'), stderr: Buffer.from(r.stderr).toString('utf8'), exitCode: r.exitCode };
    },
    async removePodSandbox(id) {
      await call('StopPodSandbox', { podSandboxId: id });
      await call('RemovePodSandbox', { podSandboxId: id });
    },
    close: () => client.close(),
  };
}

// Docker Engine API calls as data. Each call has one command line (the `docker …`/`podman …` a
// person can read in the plan and replay) and one way it is performed, through dockerode against the
// engine's socket. Podman's service speaks the same API, so one table serves both engines.
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { UserError } from './errors.ts';
import { buildCommand, type Command } from './quote.ts';
import { frames } from './docker-stream.ts';
import { libpodCreate } from './libpod-create.ts';

export type EngineKind = 'docker' | 'podman';

export interface Endpoint {
  engine: EngineKind;
  /** Path of the unix socket. */
  socket: string;
}

export interface PortSpec {
  hostIp: string;
  hostPort: number | '';
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** Everything `docker run` says about a node container. */
export interface RunSpec {
  name: string;
  hostname: string;
  image: string;
  labels: Record<string, string>;
  network: string;
  ip?: string;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  cgroupns?: 'private' | 'host';
  tmpfs: string[];
  /** host-path-or-volume:container-path[:options] */
  volumes: string[];
  devices: string[];
  env: string[];
  stopSignal?: string;
  cpus?: number;
  memoryMb?: number;
  publish: PortSpec[];
  entrypoint?: string;
  args: string[];
}

export type EngineCall =
  | { op: 'version' }
  | { op: 'info' }
  | { op: 'network.list' }
  | { op: 'container.inspect'; name: string }
  | { op: 'container.list'; labels: Record<string, string> }
  | { op: 'volume.list'; labels: Record<string, string> }
  | { op: 'network.list-labelled'; labels: Record<string, string> }
  | { op: 'image.inspect'; image: string }
  | { op: 'network.create'; name: string; subnet: string; gateway: string; labels: Record<string, string> }
  | { op: 'network.remove'; name: string }
  | { op: 'volume.create'; name: string; labels: Record<string, string> }
  | { op: 'volume.remove'; name: string }
  | { op: 'container.run'; spec: RunSpec }
  | { op: 'container.remove'; name: string }
  | { op: 'container.logs'; name: string; tail: number }
  | {
    op: 'container.exec';
    name: string;
    argv: string[];
    timeoutMs?: number;
    /**
     * Fed on stdin and never recorded: a secret (a join command) stays out of the command line, the
     * plan and the events. The plan shows it as the shell variable `stdinVar` a reader would set.
     */
    stdin?: string;
    stdinVar?: string;
  }
  /** A read-only command in a container (what a check asks a node). */
  | { op: 'container.probe'; name: string; argv: string[] }
  /** The end of the node's journal (lines > 0), or its failed units (lines 0): for error messages. */
  | { op: 'container.journal'; name: string; lines: number }
  /** `docker build`: a local directory as the context (its Dockerfile and the files it names). */
  | { op: 'image.build'; context: string; files: string[]; tag: string; labels: Record<string, string> }
  /** `docker save IMAGE | docker exec -i NODE ARGV…`: the image streams from the engine into the node. */
  | { op: 'image.pipe'; image: string; name: string; argv: string[] };

export interface EngineResult {
  /** JSON-able result of a read, or the output of an exec. */
  value: unknown;
  stdout: string;
  stderr: string;
  exitCode: number;
}

const READS = new Set<EngineCall['op']>([
  'version',
  'info',
  'network.list',
  'container.inspect',
  'container.list',
  'volume.list',
  'network.list-labelled',
  'image.inspect',
  'container.logs',
  'container.journal',
  'container.probe',
]);

export function isReadCall(call: EngineCall): boolean {
  return READS.has(call.op);
}

/** What a plan records of a read's answer: the parts that decide what a task does, not clocks and counters. */
export function observedValue(call: EngineCall, result: EngineResult): unknown {
  const value = result.value;
  if (call.op === 'container.inspect' && value && typeof value === 'object') {
    const v = value as { Id?: string; State?: { Status?: string }; Config?: { Labels?: unknown } };
    return { id: v.Id, status: v.State?.Status, labels: v.Config?.Labels };
  }
  if (call.op === 'image.inspect' && value && typeof value === 'object') return { id: (value as { Id?: string }).Id };
  if (call.op === 'version' || call.op === 'info' || call.op === 'container.logs' || call.op === 'container.journal') return null;
  if (call.op === 'container.probe') return { exitCode: result.exitCode, stdout: result.stdout };
  return value;
}

export const DEFAULT_SOCKETS: Record<EngineKind, string> = { docker: '/var/run/docker.sock', podman: '/run/podman/podman.sock' };

/** The engine's socket: given, else from the environment (DOCKER_HOST for docker, CONTAINER_HOST for podman), else the usual one. */
export function socketOf(engine: EngineKind, given: string | undefined, fromEnv?: string): string {
  const raw = given || fromEnv || DEFAULT_SOCKETS[engine];
  if (raw.startsWith('unix://')) return raw.slice('unix://'.length);
  if (raw.startsWith('/')) return raw;
  throw new UserError('ENGINE_SOCKET_INVALID', `${engine} socket ${raw} is not a unix socket`, { fix: 'give it as unix:///path/to/the.sock' });
}

const cmd = (pieces: TemplateStringsArray, ...values: unknown[]): Command => buildCommand(pieces, values);

function prefix(ep: Endpoint): string[] {
  if (ep.socket === DEFAULT_SOCKETS[ep.engine]) return [ep.engine];
  return ep.engine === 'podman' ? ['podman', '--url', `unix://${ep.socket}`] : ['docker', '-H', `unix://${ep.socket}`];
}

const labelArgs = (labels: Record<string, string>) => Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const filterArgs = (labels: Record<string, string>) => Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]);

/** `docker run` arguments for a spec, in the order the API body below sets them. */
export function runArgs(spec: RunSpec): string[] {
  const a = ['-d', '--name', spec.name, '--hostname', spec.hostname, ...labelArgs(spec.labels)];
  if (spec.privileged) a.push('--privileged');
  for (const c of spec.capAdd) a.push('--cap-add', c);
  for (const c of spec.capDrop) a.push('--cap-drop', c);
  for (const s of spec.securityOpt) a.push('--security-opt', s);
  if (spec.cgroupns) a.push('--cgroupns', spec.cgroupns);
  for (const t of spec.tmpfs) a.push('--tmpfs', t);
  for (const v of spec.volumes) a.push('--volume', v);
  for (const d of spec.devices) a.push('--device', d);
  a.push('--network', spec.network);
  if (spec.ip) a.push('--ip', spec.ip);
  for (const e of spec.env) a.push('--env', e);
  if (spec.stopSignal) a.push('--stop-signal', spec.stopSignal);
  if (spec.cpus !== undefined) a.push(`--cpus=${spec.cpus}`);
  if (spec.memoryMb !== undefined) a.push(`--memory=${spec.memoryMb}m`);
  for (const p of spec.publish) a.push('--publish', `${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.protocol}`);
  if (spec.entrypoint !== undefined) a.push('--entrypoint', spec.entrypoint);
  return [...a, spec.image, ...spec.args];
}

/** The command line a person would type for the same call. */
export function engineCommand(ep: Endpoint, call: EngineCall): Command {
  const p = prefix(ep);
  switch (call.op) {
    case 'version':
      return cmd`timeout ${ANSWER_SECONDS} ${p} version --format ${'{{json .}}'}`;
    case 'info':
      return cmd`timeout ${ANSWER_SECONDS} ${p} info --format ${'{{json .}}'}`;
    case 'network.list': {
      const ls = buildCommand(['', ' network ls -q'], [p]).text;
      return { text: `${cmd`${p} network inspect --format ${'{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}'}`.text} $(${ls})`, simple: false };
    }
    case 'network.list-labelled':
      return cmd`${p} network ls ${filterArgs(call.labels)} --format ${'{{.Name}}'}`;
    case 'container.inspect':
      return cmd`${p} container inspect ${call.name}`;
    case 'container.list':
      return cmd`${p} ps -a ${filterArgs(call.labels)} --format ${'{{.Names}}'}`;
    case 'volume.list':
      return cmd`${p} volume ls ${filterArgs(call.labels)} --format ${'{{.Name}}'}`;
    case 'image.inspect':
      return cmd`${p} image inspect ${call.image}`;
    case 'network.create':
      return cmd`${p} network create --driver bridge --subnet ${call.subnet} --gateway ${call.gateway} ${labelArgs(call.labels)} ${call.name}`;
    case 'network.remove':
      return cmd`${p} network rm ${call.name}`;
    case 'volume.create':
      return cmd`${p} volume create ${labelArgs(call.labels)} ${call.name}`;
    case 'volume.remove':
      return cmd`${p} volume rm ${call.name}`;
    case 'container.run':
      return cmd`${p} run ${runArgs(call.spec)}`;
    case 'container.remove':
      return cmd`${p} rm -f -v ${call.name}`;
    case 'container.logs':
      return cmd`${p} logs --tail ${call.tail} ${call.name}`;
    case 'container.exec':
      if (call.stdinVar !== undefined) {
        const exec = cmd`${p} exec -i ${call.name} ${call.argv}`.text;
        return { text: `printf '%s\\n' "\${${call.stdinVar}:?}" | ${exec}`, simple: false };
      }
      return cmd`${p} exec ${call.name} ${call.argv}`;
    case 'container.journal':
      return cmd`${p} exec ${call.name} ${journalArgv(call.lines)}`;
    case 'container.probe':
      return cmd`${p} exec ${call.name} ${call.argv}`;
    case 'image.pipe':
      return cmd`${p} save ${call.image} | ${p} exec -i ${call.name} ${call.argv}`;
    case 'image.build':
      return cmd`${p} build --tag ${call.tag} ${labelArgs(call.labels)} ${call.context}`;
  }
}

function journalArgv(lines: number): string[] {
  return lines > 0 ? ['journalctl', '-b', '--no-pager', '-n', String(lines)] : ['systemctl', '--failed', '--no-legend', '--plain'];
}

/** A readable, grep-able one-liner for errors. */
export function describeCall(ep: Endpoint, call: EngineCall): string {
  return engineCommand(ep, call).text;
}

// ——— performing ———

/**
 * The first calls to an engine are how kubestrap learns whether it answers at all: a daemon that
 * accepts the connection and never replies must not hang doctor or start, so they are bounded.
 */
const ANSWER_SECONDS = 10;

async function answered<T>(ep: Endpoint, what: string, call: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UserError(
            ep.engine === 'docker' ? 'DOCKER_UNREACHABLE' : 'PODMAN_UNREACHABLE',
            `${ep.engine} at ${ep.socket} did not answer '${what}' within ${ANSWER_SECONDS} s`,
            { fix: `check the daemon: its log, or restart it` },
          ),
        ),
      ANSWER_SECONDS * 1000,
    );
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
  }
}

const clients = new Map<string, Promise<Dockerode>>();

async function client(socket: string): Promise<Dockerode> {
  let c = clients.get(socket);
  if (!c) {
    c = import('dockerode').then(({ default: Docker }) => new Docker({ socketPath: socket }));
    clients.set(socket, c);
  }
  return c;
}

export function statusOf(e: unknown): number | undefined {
  return e && typeof e === 'object' && typeof (e as { statusCode?: unknown }).statusCode === 'number' ? (e as { statusCode: number }).statusCode : undefined;
}

/** The daemon's own words for a failed call (dockerode puts them in json.message). */
export function engineMessage(e: unknown): string {
  const j = (e as { json?: { message?: string } | string } | undefined)?.json;
  if (j && typeof j === 'object' && j.message) return j.message;
  return (e as Error | undefined)?.message ?? String(e);
}

export class EngineError extends Error {
  constructor(readonly command: string, readonly status: number | undefined, readonly daemonMessage: string, cause?: unknown) {
    super(`${command}: ${daemonMessage}`, { cause });
    this.name = 'EngineError';
  }
}

export function unreachable(ep: Endpoint, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why = code === 'ENOENT'
    ? 'no such socket'
    : code === 'ECONNREFUSED'
    ? 'nothing listens on it'
    : code === 'EACCES'
    ? 'permission denied'
    : engineMessage(e);
  const fix = code === 'EACCES'
    ? (ep.engine === 'docker'
      ? 'add your user to the docker group (sudo usermod -aG docker $USER) and log in again'
      : "run podman as this user (rootless) or give the rootful socket's group access")
    : ep.engine === 'docker'
    ? 'start the daemon: sudo systemctl start docker (or set DOCKER_HOST to its socket)'
    // podman.socket serves only the usual socket: for another one (CONTAINER_HOST), a service on that one.
    : ep.socket === DEFAULT_SOCKETS.podman
    ? `start the service: sudo systemctl start podman.socket, or podman system service --time=0 unix://${ep.socket}`
    : `start the service on it: podman system service --time=0 unix://${ep.socket} (or set CONTAINER_HOST to a running service's socket)`;
  return new UserError(ep.engine === 'docker' ? 'DOCKER_UNREACHABLE' : 'PODMAN_UNREACHABLE', `cannot reach ${ep.engine} at ${ep.socket}: ${why}`, {
    fix,
    cause: e,
  });
}

const toLabelFilter = (labels: Record<string, string>) => JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });

export async function performCall(
  ep: Endpoint,
  call: EngineCall,
  signal?: AbortSignal,
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void,
): Promise<EngineResult> {
  const docker = await client(ep.socket);
  const done = (value: unknown): EngineResult => ({ value, stdout: '', stderr: '', exitCode: 0 });
  try {
    switch (call.op) {
      case 'version':
        return done(await answered(ep, 'version', docker.version()));
      case 'info':
        return done(await answered(ep, 'info', docker.info()));
      case 'network.list': {
        const nets = await docker.listNetworks();
        return done(nets.map((n) => ({ name: n.Name, labels: n.Labels ?? {}, subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter(Boolean) })));
      }
      case 'network.list-labelled': {
        const nets = await docker.listNetworks({ filters: toLabelFilter(call.labels) });
        return done(nets.map((n) => n.Name).sort());
      }
      case 'container.inspect':
        try {
          return done(await docker.getContainer(call.name).inspect());
        } catch (e) {
          if (statusOf(e) === 404) return done(null);
          throw e;
        }
      case 'container.list': {
        const cs = await docker.listContainers({ all: true, filters: toLabelFilter(call.labels) });
        return done(
          cs.map((c) => ({ name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State, labels: c.Labels })).sort((a, b) => a.name.localeCompare(b.name)),
        );
      }
      case 'volume.list': {
        const vs = await docker.listVolumes({ filters: toLabelFilter(call.labels) });
        return done((vs.Volumes ?? []).map((v) => v.Name).sort());
      }
      case 'image.inspect':
        try {
          return done(await docker.getImage(call.image).inspect());
        } catch (e) {
          if (statusOf(e) === 404) return done(null);
          throw e;
        }
      case 'network.create':
        await docker.createNetwork({
          Name: call.name,
          Driver: 'bridge',
          CheckDuplicate: true,
          Labels: call.labels,
          IPAM: { Driver: 'default', Config: [{ Subnet: call.subnet, Gateway: call.gateway }] },
        });
        return done(null);
      case 'network.remove':
        await docker.getNetwork(call.name).remove();
        return done(null);
      case 'volume.create':
        await docker.createVolume({ Name: call.name, Labels: call.labels });
        return done(null);
      case 'volume.remove':
        await docker.getVolume(call.name).remove();
        return done(null);
      case 'container.run': {
        const c = ep.engine === 'podman' ? docker.getContainer(await libpodCreate(docker, call.spec)) : await docker.createContainer(createBody(call.spec));
        try {
          await c.start();
        } catch (e) {
          await c.remove({ force: true, v: false }).catch(() => {});
          throw e;
        }
        return done(null);
      }
      case 'container.remove':
        try {
          await docker.getContainer(call.name).remove({ force: true, v: true });
        } catch (e) {
          if (statusOf(e) !== 404) throw e;
        }
        return done(null);
      case 'container.logs': {
        const buf = (await docker.getContainer(call.name).logs({ stdout: true, stderr: true, tail: call.tail })) as unknown as Buffer;
        const text = demuxAll(Buffer.from(buf));
        return { value: null, stdout: text, stderr: '', exitCode: 0 };
      }
      case 'container.exec':
        return await execIn(
          docker,
          call.name,
          call.argv,
          call.stdin === undefined ? undefined : Readable.from([Buffer.from(call.stdin)]),
          signal,
          call.timeoutMs,
        );
      case 'container.probe':
        // A node that does not exist (yet) answers like a failed command: checks read it as "not done".
        try {
          return await execIn(docker, call.name, call.argv, undefined, signal, 60_000);
        } catch (e) {
          if (statusOf(e) === 404 || statusOf(e) === 409) return { value: null, stdout: '', stderr: engineMessage(e), exitCode: -1 };
          throw e;
        }
      case 'container.journal':
        return await execIn(docker, call.name, journalArgv(call.lines), undefined, signal, 15_000);
      case 'image.build':
        return await build(docker, call, onLine);
      case 'image.pipe': {
        const tar = (await docker.getImage(call.image).get()) as unknown as Readable;
        return await execIn(docker, call.name, call.argv, tar, signal);
      }
    }
  } catch (e) {
    if (e instanceof UserError || e instanceof EngineError) throw e;
    if (statusOf(e) === undefined && (e as NodeJS.ErrnoException).code) throw unreachable(ep, e);
    throw new EngineError(describeCall(ep, call), statusOf(e), engineMessage(e), e);
  }
}

/** Builds through the API; each line of the build's output is progress. */
async function build(
  docker: Dockerode,
  call: Extract<EngineCall, { op: 'image.build' }>,
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void,
): Promise<EngineResult> {
  const stream = await docker.buildImage({ context: call.context, src: ['Dockerfile', ...call.files] }, {
    t: call.tag,
    labels: call.labels,
    rm: true,
    forcerm: true,
  });
  const lines: string[] = [];
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err) => (err ? reject(err) : resolve()),
      (ev: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
        if (ev.error) failure = ev.errorDetail?.message ?? ev.error;
        for (const l of (ev.stream ?? ev.status ?? '').split('\n')) {
          if (!l.trim()) continue;
          lines.push(l);
          onLine?.('stdout', l);
        }
      },
    );
  });
  if (failure) throw new EngineError(`build of ${call.tag}`, undefined, `${failure}\n${lines.slice(-15).join('\n')}`);
  return { value: null, stdout: lines.join('\n'), stderr: '', exitCode: 0 };
}

/** The Engine API body for `docker run`'s arguments (runArgs above). */
function createBody(spec: RunSpec): Dockerode.ContainerCreateOptions {
  const exposed: Record<string, Record<PropertyKey, never>> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.publish) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort === '' ? '' : String(p.hostPort) });
  }
  const tmpfs: Record<string, string> = {};
  for (const t of spec.tmpfs) {
    const [path, opts] = t.split(/:(.*)/);
    tmpfs[path!] = opts ?? '';
  }
  // `systempaths=unconfined` is the docker CLI's word for empty masked and read-only path lists.
  const unmasked = spec.securityOpt.includes('systempaths=unconfined');
  // CgroupnsMode is API 1.41 but missing from @types/dockerode.
  const host: Dockerode.HostConfig & { CgroupnsMode?: string } = {
    Privileged: spec.privileged,
    CapAdd: spec.capAdd,
    CapDrop: spec.capDrop,
    SecurityOpt: spec.securityOpt.filter((o) => o !== 'systempaths=unconfined'),
    ...(unmasked ? { MaskedPaths: [], ReadonlyPaths: [] } : {}),
    Tmpfs: tmpfs,
    Binds: spec.volumes,
    NetworkMode: spec.network,
    PortBindings: bindings,
    Devices: spec.devices.map((d) => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' })),
    ...(spec.cgroupns ? { CgroupnsMode: spec.cgroupns } : {}),
    ...(spec.cpus !== undefined ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
    ...(spec.memoryMb !== undefined ? { Memory: spec.memoryMb * 1024 * 1024 } : {}),
  };
  return {
    name: spec.name,
    Hostname: spec.hostname,
    Image: spec.image,
    Labels: spec.labels,
    Env: spec.env,
    Tty: false,
    ...(spec.stopSignal ? { StopSignal: spec.stopSignal } : {}),
    ...(spec.entrypoint !== undefined ? { Entrypoint: [spec.entrypoint] } : {}),
    Cmd: spec.args,
    ExposedPorts: exposed,
    HostConfig: host,
    NetworkingConfig: { EndpointsConfig: { [spec.network]: spec.ip ? { IPAMConfig: { IPv4Address: spec.ip } } : {} } },
  };
}

/** Runs argv in a container, optionally feeding a stream to its stdin; non-zero exits are results. */
async function execIn(
  docker: Dockerode,
  name: string,
  argv: string[],
  stdin: Readable | undefined,
  signal?: AbortSignal,
  timeoutMs?: number,
): Promise<EngineResult> {
  const exec = await docker.getContainer(name).exec({ Cmd: argv, AttachStdin: !!stdin, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = (await exec.start({ hijack: true, stdin: !!stdin })) as unknown as NodeJS.ReadWriteStream & { destroy(): void };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const demux = frames((type, payload) => (type === 2 ? err : out).push(Buffer.from(payload)));
  await new Promise<void>((resolve, reject) => {
    const timer = timeoutMs
      ? setTimeout(() => {
        stream.destroy();
        reject(new Error(`${argv.join(' ')} in ${name} did not finish within ${timeoutMs} ms`));
      }, timeoutMs)
      : undefined;
    const onAbort = () => {
      stream.destroy();
      reject(signal!.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const end = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    stream.on('data', demux);
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') {
        clearTimeout(timer);
        reject(e);
      }
    });
    if (stdin) {
      stdin.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      stdin.pipe(stream as NodeJS.WritableStream);
    }
  });
  let info = await exec.inspect();
  for (let i = 0; info.Running && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 20));
    info = await exec.inspect();
  }
  return { value: null, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: info.ExitCode ?? -1 };
}

function demuxAll(buf: Buffer): string {
  // A log without stream headers (a TTY container) is plain text.
  if (buf.length >= 8 && (buf[0] === 1 || buf[0] === 2) && buf[1] === 0 && buf[2] === 0 && buf[3] === 0) {
    const parts: Buffer[] = [];
    frames((_t, p) => parts.push(Buffer.from(p)))(buf);
    return Buffer.concat(parts).toString('utf8');
  }
  return buf.toString('utf8');
}

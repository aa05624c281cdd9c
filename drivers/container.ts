// What the docker and podman drivers share: node containers on a local engine's API socket.
// One recipe graph (driver-docker; driver-podman includes it with engine: podman), one delete.
import { UserError } from '../core/errors.ts';
import { type EngineKind, socketOf } from '../core/engine-api.ts';
import { readState } from '../core/profile.ts';
import type { Driver, DriverStatus } from './driver.ts';
import { nodesOption, workerSlotOptions, workerSlots } from './nodes.ts';
import { defineOption } from '../options/option.ts';
import { text, wholeNumber } from '../options/parsers.ts';
import { DEFAULT_BASE_IMAGE } from '../tasks/build-node-image.ts';
import { SUBNET_SEARCH } from '../tasks/container/common.ts';

const DOCS: Record<EngineKind, string> = {
  docker: 'https://minikube.sigs.k8s.io/docs/drivers/docker/',
  podman: 'https://minikube.sigs.k8s.io/docs/drivers/podman/',
};

/** GET over the engine's unix socket, bounded by a timeout (node:http loaded only then: a plan of another driver does not need it). */
async function get(socket: string, path: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

export async function engineStatus(engine: EngineKind, socketFlag?: string): Promise<DriverStatus> {
  const doc = DOCS[engine];
  let socket: string;
  try {
    socket = socketOf(engine, socketFlag, (engine === 'docker' ? process.env.DOCKER_HOST : process.env.CONTAINER_HOST) || undefined);
  } catch (e) {
    return { installed: false, healthy: false, reason: (e as Error).message, doc };
  }
  try {
    const v = await get(socket, '/version', 4000);
    const version = JSON.parse(v.body) as { Version?: string; ApiVersion?: string; Components?: { Name: string }[] };
    const isPodman = (version.Components ?? []).some((c) => /podman/i.test(c.Name));
    if ((engine === 'podman') !== isPodman) {
      return {
        installed: true,
        healthy: false,
        reason: `${socket} is ${isPodman ? 'podman' : 'docker'}, not ${engine}`,
        fix: `use --driver ${isPodman ? 'podman' : 'docker'}, or point ${engine === 'docker' ? 'DOCKER_HOST' : 'CONTAINER_HOST'} at ${engine}'s socket`,
        doc,
      };
    }
    return { installed: true, healthy: true, reason: `${engine} ${version.Version ?? '?'} (API ${version.ApiVersion ?? '?'}) at ${socket}` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const start = engine === 'docker' ? 'sudo systemctl start docker' : 'sudo systemctl start podman.socket';
    if (code === 'ENOENT') {
      return {
        installed: false,
        healthy: false,
        reason: `no ${engine} socket at ${socket}`,
        fix: `install ${engine === 'docker' ? 'docker.io' : 'podman'} and start it (${start})`,
        doc,
      };
    }
    if (code === 'EACCES') {
      return {
        installed: true,
        healthy: false,
        reason: `permission denied on ${socket}`,
        fix: engine === 'docker'
          ? 'sudo usermod -aG docker $USER, then log in again'
          : 'use rootless podman (systemctl --user start podman.socket, CONTAINER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock)',
        doc,
      };
    }
    return { installed: true, healthy: false, reason: `${engine} at ${socket} does not answer (${code ?? (e as Error).message})`, fix: start, doc };
  }
}

/** minikube's --memory: 2048, 2048mb, 2g. */
export function memoryMb(v: unknown): number {
  const m = /^(\d+)\s*(m|mb|g|gb)?$/i.exec(String(v).trim());
  if (!m) throw new UserError('MEMORY_INVALID', `${JSON.stringify(v)} is not a size`, { fix: 'e.g. --memory 2048 (MiB) or --memory 4g' });
  const n = Number(m[1]);
  return /^g/i.test(m[2] ?? '') ? n * 1024 : n;
}

function cpuCount(v: unknown): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw new UserError('CPUS_INVALID', `${JSON.stringify(v)} is not a number of CPUs`, { fix: 'e.g. --cpus 2 (0: no limit)' });
  }
  return n;
}

function ipv4(v: unknown): string {
  if (typeof v !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(v) || v.split('.').some((x) => Number(x) > 255)) {
    throw new UserError('ADDRESS_INVALID', `${JSON.stringify(v)} is not an IPv4 address`, { fix: 'e.g. --listen-address 127.0.0.1' });
  }
  return v;
}

function subnet24(v: unknown): string {
  if (typeof v !== 'string' || !/^\d+\.\d+\.\d+\.0\/24$/.test(v)) {
    throw new UserError('SUBNET_INVALID', `${JSON.stringify(v)} is not a /24 subnet`, { fix: 'e.g. --subnet 192.168.49.0/24' });
  }
  return v;
}

function portList(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? (v === '' ? [] : v.split(',')) : undefined;
  const bad = list?.find((x) => !/^(?:\d+\.\d+\.\d+\.\d+:)?\d+:\d+(?:\/(?:tcp|udp))?$/.test(x.trim()));
  if (!list || bad !== undefined) {
    throw new UserError('PORTS_INVALID', `${JSON.stringify(bad ?? v)} is not [address:]hostPort:containerPort[/tcp|udp]`, { fix: 'e.g. --ports 8080:80' });
  }
  return list;
}

/** The options both drivers take (the same entries, so `start --help` names both for each flag). */
export const containerOptions = [
  nodesOption,
  defineOption({
    flag: 'cpus',
    key: 'cpus',
    type: 'number',
    default: 0,
    arg: 'n',
    help: "CPUs per node, where the engine's cgroups can limit them (0: no limit)",
    parse: cpuCount,
  }),
  defineOption({
    flag: 'memory',
    key: 'memory',
    type: 'number',
    default: 0,
    arg: 'size',
    help: 'Memory per node in MiB (or 4g), where the engine can limit it (0: no limit)',
    parse: memoryMb,
  }),
  defineOption({
    flag: 'base-image',
    key: 'baseImage',
    type: 'string',
    default: '',
    arg: 'image',
    help: 'A node image of your own; empty: build the default one from Debian',
    parse: text,
  }),
  defineOption({
    flag: 'ports',
    key: 'ports',
    type: 'string[]',
    default: [],
    arg: '[addr:]host:container',
    help: 'Publish a port of the control-plane node (repeatable)',
    parse: portList,
  }),
  defineOption({
    flag: 'network',
    key: 'network',
    type: 'string',
    default: '',
    arg: 'name',
    help: 'The network; empty: one named after the profile',
    parse: text,
  }),
  defineOption({
    flag: 'subnet',
    key: 'subnet',
    type: 'string',
    default: SUBNET_SEARCH.start,
    arg: 'cidr',
    help: 'Where the search for a free /24 starts',
    parse: subnet24,
  }),
  defineOption({
    flag: 'listen-address',
    key: 'listenAddress',
    type: 'string',
    default: '127.0.0.1',
    arg: 'ip',
    help: 'The host address published ports bind to',
    parse: ipv4,
  }),
  // Recipe-only settings (--set KEY=VALUE).
  defineOption({
    key: 'socket',
    type: 'string',
    default: '',
    help: "The engine's API socket (unix://PATH); empty: DOCKER_HOST / CONTAINER_HOST, else the usual one",
    parse: text,
  }),
  defineOption({ key: 'imageFrom', type: 'string', default: DEFAULT_BASE_IMAGE, help: 'The Debian image the default node image is built from', parse: text }),
  defineOption({
    key: 'subnetStep',
    type: 'number',
    default: SUBNET_SEARCH.step,
    help: 'How far each try of the subnet search moves in the third octet',
    parse: wholeNumber(1),
  }),
  defineOption({ key: 'subnetTries', type: 'number', default: SUBNET_SEARCH.tries, help: 'How many subnets the search tries', parse: wholeNumber(1) }),
  defineOption({
    key: 'privileged',
    type: 'string',
    default: 'auto',
    help: 'auto: --privileged where the engine can grant it; always; never',
    parse: (v) => {
      if (v !== 'auto' && v !== 'always' && v !== 'never') throw new UserError('PARAM_INVALID', `${JSON.stringify(v)}: use auto, always or never`);
      return v;
    },
  }),
  ...workerSlotOptions,
] as const;

export function containerDriver(engine: EngineKind, def: Pick<Driver, 'priority' | 'description'>): Driver {
  return {
    name: engine,
    aliases: [],
    ...def,
    options: containerOptions,
    startRecipe: `driver-${engine}`,
    deleteRecipe: 'delete-container',
    status: () => engineStatus(engine),
    derivedParams: workerSlots,
    deleteParams: (started) => ({ engine, ...(typeof started.socket === 'string' && started.socket ? { socket: started.socket } : {}) }),
  };
}

const CONTAINER_RECIPES = new Set(['driver-docker', 'driver-podman', 'delete-container', 'image-load']);

/** The engine and socket a container profile was started with (the profile's saved parameters). */
export function savedEngine(recipe: string, params: Record<string, unknown>): { engine: EngineKind; socket: string } | undefined {
  if (!CONTAINER_RECIPES.has(recipe)) return undefined;
  const engine: EngineKind = recipe === 'driver-podman' || params.engine === 'podman' ? 'podman' : 'docker';
  return { engine, socket: typeof params.socket === 'string' ? params.socket : '' };
}

/** The image-load recipe's parameters for a profile kubestrap started with docker or podman. */
export function imageLoadParams(home: string, profile: string, image: string): Record<string, unknown> {
  const state = readState(home, profile);
  const saved = state ? savedEngine(state.recipe, state.params) : undefined;
  if (!saved) {
    throw new UserError('PROFILE_UNKNOWN', `profile '${profile}' is not a docker or podman cluster that kubestrap started`, {
      fix: 'see kubestrap list, or start one: kubestrap start --driver docker',
    });
  }
  return { ...saved, image };
}

/** One line per node container of a profile: name, role, state (for kubestrap list). */
export async function nodeStates(profile: string, recipe: string, params: Record<string, unknown>): Promise<string[]> {
  const saved = savedEngine(recipe, params);
  if (!saved) return [];
  let socket: string;
  try {
    socket = socketOf(saved.engine, saved.socket || undefined, (saved.engine === 'docker' ? process.env.DOCKER_HOST : process.env.CONTAINER_HOST) || undefined);
  } catch {
    return [`(${saved.engine}: no usable socket)`];
  }
  const filter = encodeURIComponent(JSON.stringify({ label: [`io.kubestrap.profile=${profile}`] }));
  try {
    const r = await get(socket, `/containers/json?all=1&filters=${filter}`, 4000);
    const list = JSON.parse(r.body) as { Names: string[]; State: string; Status: string; Labels: Record<string, string> }[];
    if (!list.length) return [`no node containers in ${saved.engine}`];
    return list.map((c) => `${(c.Names[0] ?? '').replace(/^\//, '').padEnd(24)} ${(c.Labels['io.kubestrap.role'] ?? '').padEnd(14)} ${c.State} (${c.Status})`)
      .sort();
  } catch (e) {
    return [`(${saved.engine} at ${socket} does not answer: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`];
  }
}

// TEST DOUBLE for facts only: a Docker Engine API on a unix socket that answers the reads a plan
// makes (version, info, networks, containers, volumes, images) with fixed values, so plans for the
// docker and podman drivers are the same on every machine (golden plans). It refuses every call
// that would change something: a plan never makes one. The e2e suites use real engines.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FixedEngine {
  engine: 'docker' | 'podman';
  version: string;
  cgroupVersion: '1' | '2';
  /** The engine's kernel: its CPUs and memory in bytes (absent: not reported). */
  cpus?: number;
  memTotal?: number;
  networks: { Name: string; Subnet?: string; Labels?: Record<string, string> }[];
}

export const DEBIAN_DOCKER: FixedEngine = {
  engine: 'docker',
  version: '26.1.5+dfsg1',
  cgroupVersion: '2',
  networks: [{ Name: 'bridge', Subnet: '172.17.0.0/16' }, { Name: 'host' }, { Name: 'none' }],
};
export const DEBIAN_PODMAN: FixedEngine = { engine: 'podman', version: '5.4.2', cgroupVersion: '2', networks: [{ Name: 'podman', Subnet: '10.88.0.0/16' }] };

const open = new Map<Server, string>();
// Deno never runs t.after() of a test nested in describe(): what is left is closed when the file ends.
(globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.('unload', () => {
  for (const [server, dir] of open) {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

export async function startFixedEngine(t: { after(fn: () => void | Promise<void>): void }, e: FixedEngine): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-fixed-engine-'));
  const socket = join(dir, 'engine.sock');
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://engine');
    const path = url.pathname.replace(/^\/v[\d.]+/, '');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    // No node exists in a plan: an exec into one (a check asking a node) finds no such container.
    if (req.method === 'POST' && /^\/containers\/[^/]+\/exec$/.test(path)) {
      json(404, { message: `No such container: ${decodeURIComponent(path.split('/')[2]!)}` });
      return;
    }
    if (req.method !== 'GET') {
      json(500, { message: `fixed engine: ${req.method} ${path} would change something` });
      return;
    }
    if (path === '/version') {
      json(200, { Version: e.version, ApiVersion: '1.41', Components: [{ Name: e.engine === 'podman' ? 'Podman Engine' : 'Engine', Version: e.version }] });
    } else if (path === '/info') {
      json(200, {
        ServerVersion: e.version,
        CgroupVersion: e.cgroupVersion,
        CgroupDriver: e.cgroupVersion === '2' ? 'systemd' : 'cgroupfs',
        Driver: 'overlay2',
        SecurityOptions: ['name=seccomp,profile=builtin'],
        MemoryLimit: true,
        CpuCfsQuota: true,
        ...(e.cpus ? { NCPU: e.cpus } : {}),
        ...(e.memTotal ? { MemTotal: e.memTotal } : {}),
      });
    } else if (path === '/networks') {
      json(200, e.networks.map((n) => ({ Name: n.Name, Driver: 'bridge', Labels: n.Labels ?? {}, IPAM: { Config: n.Subnet ? [{ Subnet: n.Subnet }] : [] } })));
    } else if (path === '/containers/json') json(200, []);
    else if (path === '/volumes') json(200, { Volumes: [] });
    else if (/^\/(containers|images)\/.+\/json$/.test(path)) json(404, { message: `No such object: ${decodeURIComponent(path.split('/')[2]!)}` });
    else json(404, { message: `fixed engine: no answer for ${path}` });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  server.unref();
  open.set(server, dir);
  t.after(async () => {
    open.delete(server);
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });
  return socket;
}

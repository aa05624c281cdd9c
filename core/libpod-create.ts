// `podman run`'s arguments as a body for Podman's own create call (POST /libpod/containers/create).
// Podman's Docker-compatible create drops HostConfig.CgroupnsMode (seen with podman 4.3): on a
// cgroup v1 host a node then shares the host's cgroup namespace, and systemd as its PID 1 mounts
// cgroup2 with nsdelegate, which changes that option for the host's own cgroup2 mount. The libpod
// call takes the namespace as given.
import { constants } from 'node:os';
import type Dockerode from 'dockerode';
import type { RunSpec } from './engine-api.ts';

/** A signal as the number Podman's spec wants: `SIGTERM`, `SIGRTMIN+3` (systemd's halt) or `15`. */
export function signalNumber(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const s = name.toUpperCase().replace(/^(?!SIG)/, 'SIG');
  // Linux: glibc's SIGRTMIN is 34, SIGRTMAX 64.
  const rt = /^SIGRT(MIN|MAX)([+-]\d+)?$/.exec(s);
  if (rt) return (rt[1] === 'MIN' ? 34 : 64) + Number(rt[2] ?? 0);
  const n = (constants.signals as Record<string, number>)[s];
  if (n === undefined) throw new Error(`unknown signal ${name}`);
  return n;
}

export function libpodCreateBody(spec: RunSpec): Record<string, unknown> {
  const mounts: { destination: string; type: string; source: string; options: string[] }[] = [];
  const volumes: { Name: string; Dest: string; Options: string[] }[] = [];
  for (const t of spec.tmpfs) {
    const [path, opts] = t.split(/:(.*)/);
    mounts.push({ destination: path!, type: 'tmpfs', source: 'tmpfs', options: opts ? opts.split(',') : [] });
  }
  for (const v of spec.volumes) {
    const [source, dest, opts] = v.split(':');
    const options = opts ? opts.split(',') : [];
    if (source!.startsWith('/')) mounts.push({ destination: dest!, type: 'bind', source: source!, options: ['rbind', ...options] });
    else volumes.push({ Name: source!, Dest: dest!, Options: options });
  }
  const security: Record<string, unknown> = {};
  for (const o of spec.securityOpt) {
    const [key, value] = o.split(/=(.*)/);
    if (key === 'seccomp') security.seccomp_profile_path = value;
    else if (key === 'apparmor') security.apparmor_profile = value;
    else if (key === 'label') security.selinux_opts = [value];
    else if (key === 'unmask') security.unmask = value!.split(':');
    else throw new Error(`security option ${o} has no libpod equivalent here`);
  }
  const resources: Record<string, unknown> = {};
  if (spec.cpus !== undefined) resources.cpu = { quota: Math.round(spec.cpus * 100_000), period: 100_000 };
  if (spec.memoryMb !== undefined) resources.memory = { limit: spec.memoryMb * 1024 * 1024 };
  return {
    name: spec.name,
    hostname: spec.hostname,
    image: spec.image,
    labels: spec.labels,
    env: Object.fromEntries(spec.env.map((e) => e.split(/=(.*)/).slice(0, 2) as [string, string])),
    // What `podman run` does for a container whose command is an init: tmpfs /run, /tmp, the stop signal.
    systemd: 'true',
    privileged: spec.privileged,
    cap_add: spec.capAdd,
    cap_drop: spec.capDrop,
    ...security,
    cgroupns: { nsmode: spec.cgroupns ?? 'private' },
    mounts,
    volumes,
    devices: spec.devices.map((path) => ({ path })),
    netns: { nsmode: 'bridge' },
    Networks: { [spec.network]: spec.ip ? { static_ips: [spec.ip] } : {} },
    portmappings: spec.publish.map((p) => ({
      host_ip: p.hostIp,
      host_port: p.hostPort === '' ? 0 : p.hostPort,
      container_port: p.containerPort,
      protocol: p.protocol,
    })),
    ...(Object.keys(resources).length ? { resource_limits: resources } : {}),
    ...(spec.stopSignal ? { stop_signal: signalNumber(spec.stopSignal) } : {}),
    ...(spec.entrypoint !== undefined ? { entrypoint: [spec.entrypoint] } : {}),
    command: spec.args,
  };
}

/** Creates through the libpod endpoint; answers the new container's ID. */
export function libpodCreate(docker: Dockerode, spec: RunSpec): Promise<string> {
  return new Promise((resolve, reject) => {
    docker.modem.dial({
      path: '/v4.0.0/libpod/containers/create',
      method: 'POST',
      options: libpodCreateBody(spec),
      statusCodes: { 201: true, 400: 'bad parameter', 404: 'no such image', 409: 'conflict', 500: 'server error' },
    }, (err: unknown, data: unknown) => (err ? reject(err) : resolve((data as { Id: string }).Id)));
  });
}

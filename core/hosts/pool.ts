// One connection per host for a whole run, opened on first use.
import { userInfo } from 'node:os';
import { UserError } from '../errors.ts';
import { hasPlaceholder } from '../placeholder.ts';
import type { HostSpec } from '../recipe.ts';
import type { Host, HostFacts, HostInfo } from './host.ts';
import { type EarlyStart, LocalHost } from './local.ts';
import { FutureHost } from './future.ts';

export class HostPool {
  private hosts = new Map<string, Promise<Host>>();
  readonly local: Host;
  private readonly knownHostsFile: string;
  private readonly injected?: ReadonlyMap<string, Host>;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly localUser: string;

  constructor(opts: {
    knownHostsFile: string;
    local?: Host;
    /** Tests hand in hosts by key (ssh:user@address:port, docker:name), like `local`. */
    injected?: ReadonlyMap<string, Host>;
    /** The engine's environment: SSH_AUTH_SOCK and DOCKER_HOST are read from it, not from the process. */
    env?: Readonly<Record<string, string | undefined>>;
    /** Who SSH logs in as when a host names no user (ssh's own default). */
    localUser?: string;
    /** What the launcher started on this machine before the engine loaded (LocalHost). */
    early?: EarlyStart;
  }) {
    this.env = opts.env ?? {};
    this.local = opts.local ?? new LocalHost({ ...(this.env.HOME ? { home: this.env.HOME } : {}), ...(opts.early ? { early: opts.early } : {}) });
    this.knownHostsFile = opts.knownHostsFile;
    if (opts.injected) this.injected = opts.injected;
    this.localUser = opts.localUser ?? userInfo().username;
  }

  private futures = new Map<string, FutureHost>();

  /**
   * The host a step runs on. `createdBy`: steps of this plan that will create it (and have not
   * yet): the host does not exist, so it is a FutureHost and nothing connects to it. So is a host
   * whose address is still a placeholder (an earlier step's output).
   */
  get(name: string, spec: HostSpec | undefined, createdBy: readonly string[] = []): Promise<Host> {
    if (name === 'local' || !spec) return Promise.resolve(this.local);
    const key = hostKey(spec, this.localUser);
    if (createdBy.length || hasPlaceholder(key)) {
      let f = this.futures.get(key);
      if (!f) {
        const user = spec.ssh ? String(spec.ssh.user || this.localUser) : String(spec.docker?.user || 'root');
        f = new FutureHost(key, spec.ssh ? 'ssh' : 'docker', user, createdBy);
        this.futures.set(key, f);
      }
      return Promise.resolve(f);
    }
    let h = this.hosts.get(key);
    if (!h) {
      const given = this.injected?.get(key);
      h = given ? Promise.resolve(given) : this.open(key, spec);
      this.hosts.set(key, h);
      h.catch(() => this.hosts.delete(key));
    }
    return h;
  }

  private async open(key: string, spec: HostSpec): Promise<Host> {
    if (spec.ssh) {
      const { SshHost } = await import('./ssh.ts');
      const s = spec.ssh;
      return SshHost.connect({
        address: String(s.address),
        port: s.port === undefined ? 22 : Number(s.port),
        user: s.user ? String(s.user) : this.localUser,
        // '' from a recipe parameter means no key given.
        key: s.key === undefined || s.key === '' ? undefined : String(s.key),
        knownHosts: s.knownHosts === undefined ? this.knownHostsFile : String(s.knownHosts),
        ...(this.env.SSH_AUTH_SOCK ? { agent: this.env.SSH_AUTH_SOCK } : {}),
      });
    }
    if (spec.docker) {
      const { DockerHost } = await import('./docker.ts');
      const d = spec.docker;
      return DockerHost.connect({
        container: String(d.container),
        socket: d.socket === undefined ? undefined : String(d.socket),
        user: d.user === undefined ? undefined : String(d.user),
        ...(this.env.DOCKER_HOST ? { dockerHost: this.env.DOCKER_HOST } : {}),
      });
    }
    throw new UserError('HOST_INVALID', `host ${key} has no ssh: or docker: settings`);
  }

  /** Facts of every host used so far, for the plan document. */
  async describe(): Promise<HostInfo[]> {
    const all: Host[] = [this.local];
    for (const h of this.hosts.values()) {
      try {
        all.push(await h);
      } catch { /* reported by its step */ }
    }
    const opened = new Set(all.map((h) => h.name));
    // A host created during a run is opened too: it is listed once, as opened.
    all.push(...[...this.futures.values()].filter((f) => !opened.has(f.name)));
    const out: HostInfo[] = [];
    for (const h of all) {
      let f: HostFacts;
      try {
        f = await h.facts();
      } catch {
        continue;
      }
      out.push({
        name: h.name,
        kind: h.kind,
        user: f.user,
        uid: f.uid,
        shellPrefix: h.shellPrefix(),
        ...(h instanceof FutureHost ? { createdBy: [...h.createdBy] } : {}),
      });
    }
    return out;
  }

  async closeAll(): Promise<void> {
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.allSettled(hosts.map(async (h) => (await h).close()));
  }
}

/** The host's name, the same before it exists and once connected: `ssh:user@address:port`, `docker:container`. */
export function hostKey(spec: HostSpec, localUser: string): string {
  if (spec.ssh) return `ssh:${spec.ssh.user || localUser}@${spec.ssh.address}:${spec.ssh.port || 22}`;
  return `docker:${spec.docker?.container}`;
}

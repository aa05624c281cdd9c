// One connection per host for a whole run, opened on first use.
import { UserError } from '../errors.ts';
import { hasPlaceholder } from '../placeholder.ts';
import type { HostSpec } from '../recipe.ts';
import type { Host, HostFacts } from './host.ts';
import { LocalHost } from './local.ts';
import { FutureHost } from './future.ts';

export interface HostInfo { name: string; kind: string; user: string; uid: number; shellPrefix: string[] }

export class HostPool {
  private hosts = new Map<string, Promise<Host>>();
  readonly local: Host;
  /** `injected`: tests hand in hosts by key (ssh:user@address:port, docker:name), like `local`. */
  constructor(private readonly knownHostsFile: string, local?: Host, private readonly injected?: ReadonlyMap<string, Host>) {
    this.local = local ?? new LocalHost();
  }

  /** The host a step runs on; an address that is still a plan placeholder gives a not-yet-existing host. */
  get(name: string, spec: HostSpec | undefined): Promise<Host> {
    if (name === 'local' || !spec) return Promise.resolve(this.local);
    const key = hostKey(spec);
    if (hasPlaceholder(key)) return Promise.resolve(new FutureHost(key));
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
        address: String(s.address), port: s.port === undefined ? 22 : Number(s.port), user: s.user === undefined ? undefined : String(s.user),
        // '' from a recipe parameter means no key given.
        key: s.key === undefined || s.key === '' ? undefined : String(s.key), knownHosts: s.knownHosts === undefined ? this.knownHostsFile : String(s.knownHosts),
      });
    }
    if (spec.docker) {
      const { DockerHost } = await import('./docker.ts');
      const d = spec.docker;
      return DockerHost.connect({ container: String(d.container), socket: d.socket === undefined ? undefined : String(d.socket), user: d.user === undefined ? undefined : String(d.user) });
    }
    throw new UserError('HOST_INVALID', `host ${key} has no ssh: or docker: settings`);
  }

  /** Facts of every host used so far, for the plan document. */
  async describe(): Promise<HostInfo[]> {
    const all: Host[] = [this.local];
    for (const h of this.hosts.values()) { try { all.push(await h); } catch { /* reported by its step */ } }
    const out: HostInfo[] = [];
    for (const h of all) {
      let f: HostFacts;
      try { f = await h.facts(); } catch { continue; }
      out.push({ name: h.name, kind: h.kind, user: f.user, uid: f.uid, shellPrefix: h.shellPrefix() });
    }
    return out;
  }

  async closeAll(): Promise<void> {
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.allSettled(hosts.map(async (h) => (await h).close()));
  }
}

export function hostKey(spec: HostSpec): string {
  if (spec.ssh) {
    const user = spec.ssh.user === undefined ? '' : `${spec.ssh.user}@`;
    return `ssh:${user}${spec.ssh.address}:${spec.ssh.port ?? 22}`;
  }
  return `docker:${spec.docker?.container}`;
}

// Each probe runs once per host: its answer is kept until something changes that host. The facts
// the graph declares are gathered up front, in one script per host (core/facts.ts).
import { type FactProbe, type Gathered, gatherScript, parseStatLine, statLinesCommand } from './facts.ts';
import { type ExecResult, type FileInfo, type Host, USER_FACTS } from './hosts/host.ts';
import { FactMemo } from './fact-memo.ts';
import type { Secrets } from './secrets.ts';

/** A gathering script that ran (for the plan to list, with the kept validators set before it) and what it found. */
export interface Gathering {
  script: string;
  kept: string;
  found: Gathered;
}

interface HostAnswers {
  /** Bumped by every change to the host: an answer read across a change is not kept. */
  generation: number;
  answers: Map<string, ExecResult>;
  running: Map<string, Promise<ExecResult>>;
  /** Set once the gathering started: steps that start meanwhile wait for it rather than ask on their own. */
  gathering?: Promise<unknown>;
  /** What the gathering found, for unit and package questions it was not asked in those words. */
  found?: Gathered;
  /** Files stat-ed and read on a host reached over a channel (each one a command there). */
  stats: Map<string, Promise<FileInfo>>;
  reads: Map<string, Promise<Uint8Array | null>>;
}

export class ProbeCache {
  private readonly hosts = new Map<string, HostAnswers>();

  /**
   * memo: answers of memoized facts kept from earlier plans and runs (core/fact-memo.ts).
   * secrets: a command that holds one is never kept to start early next time (keepable).
   */
  constructor(private readonly memo = new FactMemo(), private readonly secrets?: Secrets) {}

  /**
   * Gathers the declared facts of a host the first time it is used, in one command. Returns that
   * command (for the plan to list as what ran), or undefined when nothing needed gathering.
   * `declared`: the facts the graph's steps on this host say they read (asked once).
   * `own`: the facts of the step about to run. Once something changed the host (a run), what was
   * gathered is forgotten; the step's own facts not known since are then gathered again in one
   * command, instead of one command each.
   */
  async gather(host: Host, declared: () => readonly FactProbe[], signal: AbortSignal, own?: () => readonly FactProbe[]): Promise<Gathering | undefined> {
    const h = this.of(host);
    // A machine an earlier step creates does not exist yet: nothing can be asked of it.
    if (host.future) return undefined;
    if (h.gathering) {
      await h.gathering.catch(() => {});
      if (!own || h.generation === 0) return undefined;
      const known = (
        f: FactProbe,
      ) => (f.via.kind === 'file'
        ? h.reads.has(f.via.path)
        : f.via.kind === 'stat'
        ? h.stats.has(f.via.path)
        : h.answers.has(f.command) || !!h.found?.derive(f));
      const unknown = () => own().filter((f) => !known(f));
      return this.gatherNow(host, h, unknown, signal, false);
    }
    const done = this.gatherNow(host, h, declared, signal, true);
    h.gathering = done;
    return done;
  }

  private async gatherNow(
    host: Host,
    h: HostAnswers,
    declared: () => readonly FactProbe[],
    signal: AbortSignal,
    first: boolean,
  ): Promise<Gathering | undefined> {
    // The local host reads files directly: cheaper than any script, and always current.
    const facts = declared().filter((f) => (f.via.kind !== 'file' && f.via.kind !== 'stat') || host.kind !== 'local');
    // Again after a change: one fact is one command either way.
    if (!facts.length || (!first && facts.length < 2)) return undefined;
    const user: FactProbe = { command: USER_FACTS, via: { kind: 'shell', fragment: USER_FACTS } };
    const g = gatherScript(first && host.seedFacts ? [user, ...facts] : facts, (command) => this.memo.get(host.name, command));
    const generation = h.generation;
    const command = g.prelude ? `${g.prelude}\n${g.script}` : g.script;
    const early = first && this.keepable(command);
    const out = await host.exec(command, { signal, ...(early ? { startEarly: true } : {}) });
    const found = g.answers(out);
    for (const [command, entry] of found.memos) this.memo.set(host.name, command, entry);
    this.memo.save();
    const mine = found.byCommand.get(USER_FACTS);
    if (mine && host.seedFacts) host.seedFacts(mine);
    // Read while another step changed the host: not kept for all, but the asking step may use it.
    if (h.generation !== generation) return { script: g.script, kept: g.prelude, found };
    for (const [command, answer] of found.byCommand) if (command !== USER_FACTS) h.answers.set(command, answer);
    h.found = found;
    for (const [path, f] of found.files) {
      h.stats.set(path, Promise.resolve(f.info));
      // An unreadable file is read again on its own, which says so.
      if (f.content !== undefined && f.content !== 'unreadable') h.reads.set(path, Promise.resolve(f.content));
    }
    for (const [path, info] of found.stats) if (!h.stats.has(path)) h.stats.set(path, Promise.resolve(info));
    return { script: g.script, kept: g.prelude, found };
  }

  /** A file's stat: kept (or gathered) for hosts reached over a channel, until the host changes. */
  stat(host: Host, path: string): Promise<FileInfo> {
    if (host.kind === 'local') return host.stat(path);
    return this.kept(host, this.of(host).stats, path, () => host.stat(path));
  }

  /** A file's bytes (null when missing): kept like stat. */
  readFile(host: Host, path: string): Promise<Uint8Array | null> {
    if (host.kind === 'local') return host.readFile(path);
    return this.kept(host, this.of(host).reads, path, () => host.readFile(path));
  }

  private kept<T>(host: Host, map: Map<string, Promise<T>>, path: string, read: () => Promise<T>): Promise<T> {
    const known = map.get(path);
    if (known) return known;
    const h = this.of(host);
    const generation = h.generation;
    const p = read();
    map.set(path, p);
    // A failed read is not kept, nor one made while the host was being changed.
    p.then(() => {
      if (h.generation !== generation && map.get(path) === p) map.delete(path);
    }, () => {
      if (map.get(path) === p) map.delete(path);
    });
    return p;
  }

  /**
   * Several paths' stats: those not kept are asked in one command on a host reached over a channel
   * (a step's declared writes: a dozen paths for kubeadm init), and kept like stat.
   */
  async statMany(host: Host, paths: readonly string[]): Promise<FileInfo[]> {
    const h = this.of(host);
    const unknown = [...new Set(paths)].filter((p) => !h.stats.has(p) && !p.includes('\n'));
    if (host.kind !== 'local' && unknown.length > 1) {
      const generation = h.generation;
      const r = await host.exec(statLinesCommand(unknown));
      const lines = r.stdout.split('\n').filter((l) => l);
      if (r.exitCode === 0 && lines.length === unknown.length && h.generation === generation) {
        unknown.forEach((p, i) => {
          if (!h.stats.has(p)) h.stats.set(p, Promise.resolve(parseStatLine(lines[i]!)));
        });
      }
    }
    return Promise.all(paths.map((p) => this.stat(host, p)));
  }

  /** A fact's answer: like probe, and also derived from what the gathering found when it can be. */
  async fact(host: Host, fact: FactProbe, signal: AbortSignal): Promise<ExecResult> {
    const h = this.of(host);
    if (!h.answers.has(fact.command)) {
      const derived = h.found?.derive(fact);
      if (derived) h.answers.set(fact.command, derived);
    }
    return this.probe(host, fact.command, signal);
  }

  /** The probe's answer: kept from earlier (or from the gathering), else run now and kept. */
  async probe(host: Host, command: string, signal: AbortSignal): Promise<ExecResult> {
    const h = this.of(host);
    const known = h.answers.get(command);
    if (known) return known;
    const inFlight = h.running.get(command);
    if (inFlight) return inFlight;
    const generation = h.generation;
    // Asked before anything changed the host, it can start early next time (as the gathering can).
    const early = generation === 0 && this.keepable(command);
    const p = host.exec(command, { signal, ...(early ? { startEarly: true } : {}) }).finally(() => {
      if (h.running.get(command) === p) h.running.delete(command);
    });
    h.running.set(command, p);
    const r = await p;
    // Killed or aborted answers are not facts; nor is one read while the host was being changed.
    if (h.generation === generation && r.exitCode !== null && !signal.aborted) h.answers.set(command, r);
    return r;
  }

  /** A command that holds a secret is never kept to start early next time: it would be on disk. */
  private keepable(command: string): boolean {
    return !this.secrets || this.secrets.redact(command) === command;
  }

  /** Something is about to change, or just changed, the host: forget what was read from it. */
  changed(host: Host): void {
    const h = this.of(host);
    h.generation++;
    h.answers.clear();
    h.running.clear();
    h.found = undefined;
    h.stats.clear();
    h.reads.clear();
  }

  private of(host: Host): HostAnswers {
    let h = this.hosts.get(host.name);
    if (!h) this.hosts.set(host.name, h = { generation: 0, answers: new Map(), running: new Map(), stats: new Map(), reads: new Map() });
    return h;
  }
}

/**
 * What one step has read of its host, kept until the step itself changes the host. The host's
 * answers (ProbeCache) are forgotten at every change, by any step; but steps that run beside this
 * one are independent of it (no `needs` between them), so whether it sees their changes depends on
 * timing anyway, and what it read before them stays as good as a fresh read. Without this, a step
 * asked each fact again, one command each, whenever a step beside it wrote a file.
 */
export class StepView {
  private readonly answers = new Map<string, ExecResult>();
  private readonly stats = new Map<string, FileInfo>();
  private readonly reads = new Map<string, Uint8Array | null>();
  private found: Gathered[] = [];
  /** Bumped by this step's own changes: an answer asked across one is not kept. */
  private generation = 0;

  constructor(private readonly cache: ProbeCache, private readonly host: Host) {}

  /** Keeps what a gathering for this step found (also when the host's answers could not keep it). */
  adopt(found: Gathered): void {
    for (const [command, answer] of found.byCommand) if (command !== USER_FACTS) this.answers.set(command, answer);
    for (const [path, f] of found.files) {
      this.stats.set(path, f.info);
      if (f.content !== undefined && f.content !== 'unreadable') this.reads.set(path, f.content);
    }
    for (const [path, info] of found.stats) if (!this.stats.has(path)) this.stats.set(path, info);
    this.found.push(found);
  }

  async fact(fact: FactProbe, signal: AbortSignal): Promise<ExecResult> {
    const mine = this.answers.get(fact.command) ?? this.derive(fact);
    return mine ?? this.keep(this.answers, fact.command, () => this.cache.fact(this.host, fact, signal), (r) => answered(r, signal));
  }

  async probe(command: string, signal: AbortSignal): Promise<ExecResult> {
    return this.answers.get(command) ?? this.keep(this.answers, command, () => this.cache.probe(this.host, command, signal), (r) => answered(r, signal));
  }

  async stat(path: string): Promise<FileInfo> {
    // The local host is read directly, always current: nothing to keep.
    if (this.host.kind === 'local') return this.cache.stat(this.host, path);
    return this.stats.get(path) ?? this.keep(this.stats, path, () => this.cache.stat(this.host, path));
  }

  async readFile(path: string): Promise<Uint8Array | null> {
    if (this.host.kind === 'local') return this.cache.readFile(this.host, path);
    return this.reads.has(path) ? this.reads.get(path)! : this.keep(this.reads, path, () => this.cache.readFile(this.host, path));
  }

  async statMany(paths: readonly string[]): Promise<FileInfo[]> {
    if (this.host.kind === 'local') return this.cache.statMany(this.host, paths);
    const unknown = paths.filter((p) => !this.stats.has(p));
    const generation = this.generation;
    const infos = unknown.length ? await this.cache.statMany(this.host, unknown) : [];
    if (generation === this.generation) unknown.forEach((p, i) => this.stats.set(p, infos[i]!));
    const asked = new Map(unknown.map((p, i) => [p, infos[i]!]));
    return paths.map((p) => asked.get(p) ?? this.stats.get(p)!);
  }

  /** This step is about to change, or just changed, the host: nothing it read still holds. */
  changed(): void {
    this.generation++;
    this.answers.clear();
    this.stats.clear();
    this.reads.clear();
    this.found = [];
    this.cache.changed(this.host);
  }

  private derive(fact: FactProbe): ExecResult | undefined {
    for (const g of this.found) {
      const d = g.derive(fact);
      if (d) return d;
    }
    return undefined;
  }

  private async keep<T>(map: Map<string, T>, key: string, ask: () => Promise<T>, worth: (r: T) => boolean = () => true): Promise<T> {
    const generation = this.generation;
    const r = await ask();
    if (generation === this.generation && worth(r)) map.set(key, r);
    return r;
  }
}

/** Killed or aborted answers are not facts. */
function answered(r: ExecResult, signal: AbortSignal): boolean {
  return r.exitCode !== null && !signal.aborted;
}

// The task context: every effect a task asks for is recorded; in run mode it is also performed.
// Plan and run walk the same task code, so the plan is what runs.
import { createHash } from 'node:crypto';
import { readLocalFile as readLocal } from './local-read.ts';
import type {
  DeclaredPath,
  DownloadEffect,
  Effect,
  ExecEffect,
  Note,
  PackageEffect,
  PackageTransaction,
  RemoveEffect,
  ServiceAction,
  ServiceEffect,
  WriteEffect,
} from './effects.ts';
import { hasPlaceholder, placeholder } from './placeholder.ts';
import { declaredBase } from './effects.ts';
import { commandsFor } from './effect-kinds.ts';
import { describeTransaction, type PackageState, parsePackageState, parseSimulation, simulateCommand, takesAway } from './packages.ts';
import { ExecError, UserError } from './errors.ts';
import type { Host, HostFacts } from './hosts/host.ts';
import { UnreadableError } from './hosts/host.ts';
import { asRoot, buildCommand, type Command } from './quote.ts';
import { unifiedDiff } from './diff.ts';
import type { Expectation } from './expectation.ts';
import { type FactProbe, fileDigest, packageStates } from './facts.ts';
import type { Overlay } from './overlay.ts';
import { mayHoldCredentials, type Secrets } from './secrets.ts';
import { type Gathering, type ProbeCache, StepView } from './probe-cache.ts';
import { type Endpoint, type EngineCall, engineCommand, type EngineResult, isReadCall, observedValue } from './engine-api.ts';

export type Mode = 'plan' | 'run';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** exitCode === 0 */
  ok: boolean;
}

type Template<T> = (pieces: TemplateStringsArray, ...values: unknown[]) => Promise<T>;

export interface WriteOptions {
  /** Octal mode, e.g. '0644' (the default). */
  mode?: string;
  /** user or user:group, applied with chown. */
  owner?: string;
  sudo?: boolean;
  /** Keep the content out of the plan; it is shown as <secret:NAME>. */
  secret?: string;
  /** The file may hold credentials: a plan shows where it changes, not the text (paths like pki/ are so already). */
  sensitive?: boolean;
}

/** What an opaque command writes and erases by itself (absolute paths; `DIR/*` is DIR's contents). */
export interface Declaration {
  writes?: readonly string[];
  erases?: readonly string[];
  /** Directories in which every file the command creates or changes must be declared. */
  watch?: readonly string[];
  /** How the comparison after a run names the command, e.g. 'kubeadm init'. */
  label?: string;
  /** A secret fed on stdin (a token, a join command of a cluster tool): never part of the command, the plan or the events; `shownAs` names it there. */
  stdin?: { value: string; shownAs: string };
  /** The command prints a secret (a token): its output is returned to the task only, never shown as it runs. */
  quiet?: boolean;
}

export interface TaskContext {
  readonly step: string;
  readonly mode: Mode;
  readonly host: string;
  readonly profile: string;
  readonly signal: AbortSignal;
  /**
   * Set while planning a host that a step of the plan still has to create: those steps' ids. The
   * host answers like an empty machine; a task that needs its facts plans with placeholders.
   */
  readonly createdBy?: readonly string[];
  /** Runs a command; fails the step on a non-zero exit. In a plan its output is a placeholder. */
  $: Template<CommandResult>;
  /** Like $, as root (`sudo -n`, or nothing when already root). */
  sudo: Template<CommandResult>;
  /**
   * $ and sudo for an opaque command that declares what it writes and erases: the plan lists those
   * paths like writes and removes (existence, size, backup), and a run compares them afterwards.
   */
  declaring(d: Declaration): { $: Template<CommandResult>; sudo: Template<CommandResult> };
  /** A read-only command: runs in plan mode too, never with sudo, never fails the step. */
  probe: Template<CommandResult>;
  /**
   * A read-only command whose words the recipe supplied (not a task's own reviewed probe): a plan
   * runs it only when the user allowed recipe probes, and otherwise lists it as not run and gives
   * undefined (the run decides).
   */
  recipeProbe(argv: readonly string[]): Promise<CommandResult | undefined>;
  /** A probe the host's fact gathering may already have answered (core/facts.ts); else like probe. */
  fact(probe: FactProbe): Promise<CommandResult>;
  read(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  write(path: string, content: string | Uint8Array, opts?: WriteOptions): Promise<void>;
  remove(path: string, opts?: { sudo?: boolean }): Promise<void>;
  service(name: string, action: ServiceAction, opts?: { sudo?: boolean }): Promise<void>;
  /**
   * Installs (or removes) the packages not yet so, in one transaction that is simulated first: the plan
   * lists every package it installs, upgrades, downgrades or removes, and one that removes or
   * downgrades anything is blocked unless `allowRemovals`. Returns the simulated transaction.
   */
  packages(names: string[], opts?: PackagesOptions): Promise<PackageTransaction | undefined>;
  /** Read-only: the package manager and which of `names` are installed, at which version. */
  packageState(names: readonly string[]): Promise<PackageState>;
  /** Read-only: what the package manager would do to install (or remove) `names`; undefined if it cannot say. */
  simulatePackages(names: readonly string[], action?: 'install' | 'remove'): Promise<PackageTransaction | undefined>;
  /** Declares a port the result will listen on, for the audit. */
  listen(port: number, opts: { protocol?: 'tcp' | 'udp'; address?: string; component: string }): void;
  /** Fetches a URL into the local download cache (checksum verified) and returns the cached path. */
  download(url: string, opts?: { sha256?: string; name?: string }): Promise<string>;
  /**
   * Puts a file from the local download cache onto this step's host (atomic, backed up like write).
   * The plan shows its checksum; the content is read from the cache only when the run performs it.
   */
  put(cachedPath: string, path: string, opts?: WriteOptions & { sha256?: string }): Promise<void>;
  /**
   * A small published text, such as a release's checksum file: fetched into the download cache while
   * planning too (it changes no host), so later downloads can name their checksum in the plan.
   */
  fetchText(url: string): Promise<string>;
  /** A finding for the user: shown in the plan and the run. */
  note(level: Note['level'], message: string, fix?: string): void;
  /**
   * A precondition this host fails. A plan records it and goes on, so the whole plan can still be
   * read; a run refuses to start while its plan has one, and a running step fails here.
   */
  block(reason: string, message: string, fix?: string): void;
  facts(): Promise<HostFacts>;
  /**
   * A Docker Engine API call on a local engine socket (Podman's too): the plan shows it as the
   * equivalent `docker …`/`podman …` command line; a run performs it through the API. Reads (inspect,
   * list) run in plans too, like probes; calls that change the engine are placeholders in a plan.
   */
  engine(endpoint: Endpoint, call: EngineCall): Promise<EngineResult>;
}

export interface PackagesOptions {
  sudo?: boolean;
  action?: 'install' | 'remove';
  /** The user allowed removals and downgrades (e.g. kubestrap start --allow-package-changes). */
  allowRemovals?: boolean;
}

export interface StepRecord {
  effects: Effect[];
  notes: Note[];
  /** Digest of everything the step observed (probe results, files read): the plan's view of the host. */
  observed: string;
}

export interface ContextOptions {
  step: string;
  mode: Mode;
  host: Host;
  profile: string;
  /** Where overwritten files are copied on this host. */
  backupRoot: string;
  /** The local download cache. */
  cacheDir: string;
  overlay: Overlay;
  /** Probe answers per host, shared by the steps of one plan or run. */
  probes: ProbeCache;
  /** What the host's gathering script found for this step before it started. */
  gathering?: Gathering;
  signal: AbortSignal;
  onEffect(effect: Effect): void;
  onNote(note: Note): void;
  onOutput(stream: 'stdout' | 'stderr', line: string): void;
  /** In a run after a plan: the effects the plan listed for this step. */
  expectation?: Expectation;
  /** Run recipe-supplied probes while planning too (--allow-recipe-probes). */
  allowRecipeProbes?: boolean;
  /** Secret values: redacted from every effect and note this step records. */
  secrets?: Secrets;
  download(url: string, dest: string, sha256: string | undefined, signal: AbortSignal, progress: (line: string) => void): Promise<void>;
  downloadCached(dest: string, sha256: string | undefined): Promise<boolean>;
}

const MAX_CONTENT = 64 * 1024;
/** Files larger than this get no line diff (a digest says they change); a diff is cut at MAX_CONTENT. */
const MAX_DIFF_INPUT = 1024 * 1024;
/** Every file under the directories given, with its size and change time. */
const LIST_FILES = 'for d; do [ -d "$d" ] && find "$d" -xdev -type f -printf "%p\\t%s %C@\\n"; done; exit 0';

export class StepContext implements TaskContext {
  readonly step: string;
  readonly mode: Mode;
  readonly host: string;
  readonly profile: string;
  readonly signal: AbortSignal;
  readonly createdBy?: readonly string[];
  readonly record: StepRecord = { effects: [], notes: [], observed: '' };
  /** While true (during check), only reads are allowed. */
  readOnly = false;
  private readonly observedHash = createHash('sha256');
  private execCount = 0;
  /** What this step read of its host, until it changes the host itself. */
  private readonly view: StepView;

  constructor(private readonly opts: ContextOptions) {
    if (opts.host.future && opts.host.createdBy) this.createdBy = opts.host.createdBy;
    this.step = opts.step;
    this.mode = opts.mode;
    this.host = opts.host.name;
    this.profile = opts.profile;
    this.signal = opts.signal;
    this.view = new StepView(opts.probes, opts.host);
    if (opts.gathering) {
      this.view.adopt(opts.gathering.found);
      this.gathered(opts.gathering.script, opts.gathering.kept);
    }
  }

  finish(): StepRecord {
    this.record.observed = this.observedHash.digest('hex');
    return this.record;
  }

  $: Template<CommandResult> = (pieces, ...values) => this.exec(buildCommand(pieces, values), false);
  sudo: Template<CommandResult> = (pieces, ...values) => this.exec(buildCommand(pieces, values), true);

  declaring(d: Declaration): { $: Template<CommandResult>; sudo: Template<CommandResult> } {
    for (const p of [...(d.writes ?? []), ...(d.erases ?? []), ...(d.watch ?? [])]) absolute(p);
    return {
      $: (pieces, ...values) => this.exec(buildCommand(pieces, values), false, d),
      sudo: (pieces, ...values) => this.exec(buildCommand(pieces, values), true, d),
    };
  }

  probe: Template<CommandResult> = (pieces, ...values) => this.probeText(buildCommand(pieces, values).text);

  private probeCommand(command: Command): Promise<CommandResult> {
    return this.probeText(command.text);
  }

  fact(probe: FactProbe): Promise<CommandResult> {
    if (probe.via.kind === 'file' || probe.via.kind === 'stat') throw new Error(`${probe.via.path} is a file fact: read it with ctx.exists or ctx.read`);
    return this.probeText(probe.command, probe);
  }

  /** Lists the script that gathered this host's facts: it is what ran while planning. */
  gathered(script: string, kept = ''): void {
    this.add({ kind: 'probe', host: this.host, command: script, readOnly: true, ...(kept ? { kept } : {}) });
  }

  private async probeText(command: string, fact?: FactProbe): Promise<CommandResult> {
    this.add({ kind: 'probe', host: this.host, command, readOnly: true });
    const r = fact ? await this.view.fact(fact, this.signal) : await this.view.probe(command, this.signal);
    this.observe(`probe ${command}\n${r.exitCode}\n${r.stdout}`);
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, ok: r.exitCode === 0 };
  }

  async recipeProbe(argv: readonly string[]): Promise<CommandResult | undefined> {
    if (this.mode === 'run' || this.opts.allowRecipeProbes) return this.probe`${argv}`;
    const command = buildCommand(['', ''], [argv]);
    this.add({ kind: 'probe', host: this.host, command: command.text, readOnly: true, notRun: true });
    this.note(
      'info',
      `not run while planning, as it comes from the recipe: ${command.text} (the run decides whether the step is needed)`,
      'plan with --allow-recipe-probes to run such commands while planning',
    );
    return undefined;
  }

  async read(path: string): Promise<string> {
    absolute(path);
    this.add({ kind: 'read', host: this.host, path, readOnly: true });
    const bytes = await this.current(path);
    if (bytes === null) throw new Error(`${path} does not exist on ${this.host}`);
    this.observe(`read ${path}\n${sha256(bytes)}`);
    return Buffer.from(bytes).toString('utf8');
  }

  async exists(path: string): Promise<boolean> {
    absolute(path);
    const fromPlan = this.opts.overlay.get(this.host, path);
    const exists = fromPlan !== undefined ? fromPlan !== null : (await this.view.stat(path)).exists;
    this.observe(`exists ${path}\n${exists}`);
    return exists;
  }

  async write(path: string, content: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
    this.mutating('write');
    absolute(path);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    const mode = normalizeMode(opts.mode ?? '0644');
    if (opts.owner !== undefined) checkName('owner', opts.owner, OWNER);
    let current: Uint8Array | null | 'unreadable';
    try {
      current = await this.current(path);
    } catch (e) {
      if (!(e instanceof UnreadableError)) throw e;
      current = 'unreadable';
    }
    const currentMode = current !== null ? await this.currentMode(path) : undefined;
    const exists = current !== null;
    const unchanged = current instanceof Uint8Array && Buffer.compare(Buffer.from(current), bytes) === 0 && (currentMode === undefined || currentMode === mode);
    const text = isText(bytes);
    const effect: WriteEffect = {
      kind: 'write',
      host: this.host,
      path,
      mode,
      ...(opts.owner ? { owner: opts.owner } : {}),
      sudo: opts.sudo ?? false,
      exists,
      ...(unchanged ? { unchanged: true } : {}),
      sha256: sha256(bytes),
      bytes: bytes.length,
      ...(current instanceof Uint8Array && !unchanged ? { currentSha256: sha256(current) } : {}),
    };
    if (opts.secret) {
      effect.secret = true;
      effect.content = `<secret:${opts.secret}>`;
    } else if (text && bytes.length <= MAX_CONTENT) effect.content = bytes.toString('utf8');
    if (!unchanged && exists) {
      effect.backup = `${this.opts.backupRoot}${path}`;
      if (current === 'unreadable') effect.diff = '(current file is not readable without root: no diff)';
      else if (!opts.secret && text && isText(Buffer.from(current!))) {
        const old = current!;
        const d = old.length > MAX_DIFF_INPUT || bytes.length > MAX_DIFF_INPUT
          ? undefined
          : unifiedDiff(Buffer.from(old).toString('utf8'), bytes.toString('utf8'), path);
        if (d === undefined) {
          effect.diff = `(${formatSize(old.length)} → ${formatSize(bytes.length)}: too large for a line diff; sha256 ${sha256(old).slice(0, 12)}… → ${
            effect.sha256.slice(0, 12)
          }…)`;
        } else if (d && (opts.sensitive || mayHoldCredentials(path))) effect.diff = whereOnly(d);
        else if (d) {
          effect.diff = d.length > MAX_CONTENT
            ? `${d.slice(0, d.lastIndexOf('\n', MAX_CONTENT) + 1)}(diff cut at ${formatSize(MAX_CONTENT)} of ${formatSize(d.length)})\n`
            : d;
        } else if (currentMode !== mode) effect.diff = `(mode ${currentMode} → ${mode})`;
      }
    }
    this.add(effect);
    if (this.mode === 'plan') {
      this.opts.overlay.set(this.host, path, bytes, mode);
      return;
    }
    await this.perform(effect, bytes);
  }

  async put(cachedPath: string, path: string, opts: WriteOptions & { sha256?: string } = {}): Promise<void> {
    this.mutating('put');
    absolute(path);
    const mode = normalizeMode(opts.mode ?? '0644');
    if (opts.owner !== undefined) checkName('owner', opts.owner, OWNER);
    let cached: Uint8Array | undefined;
    try {
      cached = await readLocal(cachedPath);
    } catch {
      cached = undefined;
    }
    if (!cached && this.mode === 'run') throw new Error(`${cachedPath} is not in the download cache: download it first`);
    const digest = cached ? sha256(cached) : opts.sha256 ?? placeholder(`download of ${cachedPath.split('/').pop()}`);
    if (opts.sha256 && cached && digest !== opts.sha256) throw new Error(`${cachedPath}: checksum ${digest} does not match ${opts.sha256}`);
    // Large binaries are compared by checksum on the host, never read back whole.
    const fromPlan = this.opts.overlay.get(this.host, path);
    let exists: boolean;
    let currentDigest: string | undefined;
    if (fromPlan !== undefined) {
      exists = fromPlan !== null;
      currentDigest = fromPlan ? sha256(fromPlan) : undefined;
    } else if (this.opts.host.future) exists = false; // a machine not created yet has no files
    else {
      exists = (await this.view.stat(path)).exists;
      const probe = exists ? await this.fact(fileDigest(path)) : undefined;
      currentDigest = probe?.ok ? probe.stdout.trim() || undefined : undefined;
    }
    const currentMode = exists ? await this.currentMode(path) : undefined;
    const unchanged = exists && currentDigest === digest && (currentMode === undefined || currentMode === mode);
    const effect: WriteEffect = {
      kind: 'write',
      host: this.host,
      path,
      mode,
      ...(opts.owner ? { owner: opts.owner } : {}),
      sudo: opts.sudo ?? false,
      exists,
      ...(unchanged ? { unchanged: true } : {}),
      sha256: digest,
      bytes: cached?.length ?? 0,
      source: cachedPath,
      ...(currentDigest && !unchanged ? { currentSha256: currentDigest } : {}),
      ...(exists && !unchanged ? { backup: `${this.opts.backupRoot}${path}` } : {}),
    };
    this.add(effect);
    if (this.mode === 'plan') {
      this.opts.overlay.set(this.host, path, cached ?? new Uint8Array(), mode);
      return;
    }
    await this.perform(effect, cached);
  }

  async fetchText(url: string): Promise<string> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UserError('URL_INVALID', `not a URL: ${url}`);
    }
    const dest = downloadCachePath(this.opts.cacheDir, url, parsed);
    if (!(await this.opts.downloadCached(dest, undefined))) {
      try {
        await this.opts.download(url, dest, undefined, this.signal, (line) => this.opts.onOutput('stderr', line));
      } catch (e) {
        if (this.mode === 'run' || this.signal.aborted) throw e;
        // Planning offline: the run fetches it, and what depends on it is a placeholder until then.
        this.add({ kind: 'download', host: 'local', url, path: dest, cached: false });
        this.note(
          'warn',
          `could not fetch ${url} while planning (${(e as Error).message}): values taken from it are shown as placeholders`,
          'plan on a machine that reaches it to see them',
        );
        return placeholder(`fetch of ${url.split('/').pop()}`);
      }
    }
    const bytes = await readLocal(dest);
    if (bytes.length > MAX_CONTENT) throw new Error(`${url} is ${bytes.length} bytes: too large for a published text`);
    // Recorded as a cached download whose checksum pins exactly the text this plan used.
    this.add({ kind: 'download', host: 'local', url, sha256: sha256(bytes), path: dest, cached: true });
    this.observe(`fetch ${url}\n${sha256(bytes)}`);
    return bytes.toString('utf8');
  }

  async remove(path: string, opts: { sudo?: boolean } = {}): Promise<void> {
    this.mutating('remove');
    absolute(path);
    if (path === '/' || /^\/+$/.test(path)) throw new UserError('UNSAFE_REMOVE', `refusing to remove ${path}`);
    const fromPlan = this.opts.overlay.get(this.host, path);
    const info = fromPlan !== undefined ? { exists: fromPlan !== null } : await this.view.stat(path);
    const effect: RemoveEffect = { kind: 'remove', host: this.host, path, sudo: opts.sudo ?? false, exists: info.exists };
    if (info.exists && fromPlan === undefined) {
      const bytes = await this.opts.host.diskUsage(path);
      if (bytes !== undefined) effect.bytes = bytes;
    } else if (fromPlan) effect.bytes = fromPlan.length;
    this.add(effect);
    if (this.mode === 'plan') {
      this.opts.overlay.set(this.host, path, null);
      return;
    }
    await this.perform(effect);
  }

  async service(name: string, action: ServiceAction, opts: { sudo?: boolean } = {}): Promise<void> {
    this.mutating('service');
    if (action !== 'daemon-reload') checkName('unit', name, UNIT);
    const effect: ServiceEffect = { kind: 'service', host: this.host, name, action, sudo: opts.sudo ?? true };
    this.add(effect);
    if (this.mode === 'run') await this.perform(effect);
  }

  async packages(names: string[], opts: PackagesOptions = {}): Promise<PackageTransaction | undefined> {
    this.mutating('packages');
    const action = opts.action ?? 'install';
    for (const n of names) checkName('package', n, PACKAGE);
    const state = await this.packageState(names);
    const todo = names.filter((n) => (action === 'install' ? !state.installed.has(n) : state.installed.has(n)));
    if (!todo.length) return undefined;
    const transaction = await this.simulatePackages(todo, action, state);
    const effect: PackageEffect = {
      kind: 'package',
      host: this.host,
      names: todo,
      action,
      manager: state.manager,
      sudo: opts.sudo ?? true,
      ...(transaction ? { transaction } : {}),
      ...(opts.allowRemovals ? { allowRemovals: true as const } : {}),
    };
    const what = `${action === 'install' ? 'installing' : 'removing'} ${todo.join(' ')} on ${this.host}`;
    if (transaction && takesAway(transaction)) {
      const taken = describeTransaction({ ...transaction, install: [], upgrade: [] });
      if (opts.allowRemovals) this.note('warn', `${what} ${taken} (allowed)`);
      else {
        this.block(
          'PACKAGES_TAKEN_AWAY',
          `${what} ${taken}: packages installed on this machine would be lost`,
          'keep what is installed (use the runtime it provides, or install from the same source), or allow these changes with --allow-package-changes (recipes: allowPackageChanges: true)',
        );
      }
    }
    this.add(effect);
    if (this.mode === 'run') await this.perform(effect);
    return transaction;
  }

  async packageState(names: readonly string[]): Promise<PackageState> {
    // A machine that does not exist yet cannot be asked; kubestrap's machine images are Debian-based.
    if (this.opts.host.future) return { manager: 'apt', installed: new Map() };
    const r = await this.fact(packageStates(names));
    const state = parsePackageState(r.stdout);
    if (!state) {
      throw new UserError('NO_PACKAGE_MANAGER', `no supported package manager on ${this.host}`, {
        fix: 'install the packages by hand, or use a host with apt, dnf, yum, zypper, pacman or apk',
      });
    }
    return state;
  }

  async simulatePackages(names: readonly string[], action: 'install' | 'remove' = 'install', known?: PackageState): Promise<PackageTransaction | undefined> {
    if (!names.length || this.opts.host.future) return undefined;
    const state = known ?? (await this.packageState(names));
    const r = await this.probeCommand(simulateCommand(state.manager, action, names));
    // dnf/yum --assumeno exit 1 after printing the transaction; apt/zypper/pacman/apk exit 0.
    const printed = r.ok || ((state.manager === 'dnf' || state.manager === 'yum') && /Transaction Summary|Nothing to do/.test(r.stdout));
    if (!printed) {
      const why = (r.stderr.split('\n').find((l) => /^E:|error/i.test(l)) ?? r.stderr.split('\n')[0] ?? '').trim();
      if (this.mode === 'plan') {
        this.note(
          'warn',
          `${state.manager} could not simulate ${action === 'install' ? 'installing' : 'removing'} ${names.join(' ')} now${
            why ? ` (${why})` : ''
          }: the run simulates it again and stops before anything installed is removed`,
        );
      }
      return undefined;
    }
    return parseSimulation(state.manager, action, r.stdout, state.installed);
  }

  listen(port: number, opts: { protocol?: 'tcp' | 'udp'; address?: string; component: string }): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError('PORT_INVALID', `port ${port} is not a valid port number`);
    this.add({ kind: 'listen', host: this.host, port, protocol: opts.protocol ?? 'tcp', address: opts.address ?? '0.0.0.0', component: opts.component });
  }

  async download(url: string, opts: { sha256?: string; name?: string } = {}): Promise<string> {
    this.mutating('download');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UserError('URL_INVALID', `not a URL: ${url}`);
    }
    // A checksum that only a fetch could give is a placeholder in a plan that could not fetch it.
    const pending = opts.sha256 !== undefined && this.mode === 'plan' && hasPlaceholder(opts.sha256);
    if (opts.sha256 && !pending && !/^[a-f0-9]{64}$/.test(opts.sha256)) throw new UserError('CHECKSUM_INVALID', `sha256 for ${url} must be 64 hex digits`);
    const name = opts.name ?? (parsed.pathname.split('/').filter(Boolean).pop() || 'download');
    // Keyed by URL so plan and run agree on the path even before the checksum is known.
    const dest = `${this.opts.cacheDir}/${sha256(Buffer.from(url)).slice(0, 16)}/${name}`;
    const cached = !pending && (await this.opts.downloadCached(dest, opts.sha256));
    const effect: DownloadEffect = { kind: 'download', host: 'local', url, ...(opts.sha256 ? { sha256: opts.sha256 } : {}), path: dest, cached };
    this.add(effect);
    if (this.mode === 'run' && !cached) {
      await this.opts.download(url, dest, opts.sha256, this.signal, (line) => this.opts.onOutput('stderr', line));
    }
    return dest;
  }

  note(level: Note['level'], message: string, fix?: string): void {
    const r = (x: string) => this.opts.secrets?.redact(x) ?? x;
    const note: Note = { level, message: r(message), ...(fix ? { fix: r(fix) } : {}) };
    this.record.notes.push(note);
    this.opts.onNote(note);
  }

  block(reason: string, message: string, fix?: string): void {
    if (this.mode === 'run') throw new UserError(reason, message, fix ? { fix } : {});
    const r = (x: string) => this.opts.secrets?.redact(x) ?? x;
    const note: Note = { level: 'error', message: r(message), ...(fix ? { fix: r(fix) } : {}), blocks: reason };
    this.record.notes.push(note);
    this.opts.onNote(note);
  }

  facts(): Promise<HostFacts> {
    return this.opts.host.facts();
  }

  async engine(endpoint: Endpoint, call: EngineCall): Promise<EngineResult> {
    const command = engineCommand(endpoint, call);
    // Recorded before the first await: calls a task makes side by side (Promise.all) are listed
    // in the order it made them, in the plan and in the run alike, which the audit's match needs.
    if (isReadCall(call)) {
      this.add({ kind: 'probe', host: this.host, command: command.text, readOnly: true });
      const { performCall } = await import('./engine-api.ts');
      const r = await performCall(endpoint, call, this.signal);
      this.observe(`probe ${command.text}\n${JSON.stringify(observedValue(call, r))}`);
      return r;
    }
    this.mutating('engine');
    this.add({ kind: 'exec', host: this.host, command: command.text, sudo: false, api: true, ...(command.simple ? { simple: true } : {}) });
    this.execCount++;
    if (this.mode === 'plan') {
      return { value: null, stdout: placeholder(this.execCount === 1 ? this.step : `${this.step}#${this.execCount}`), stderr: '', exitCode: 0 };
    }
    const { performCall } = await import('./engine-api.ts');
    return performCall(endpoint, call, this.signal, (stream, line) => this.opts.onOutput(stream, line));
  }

  // ——— internals ———

  private async exec(command: Command, sudo: boolean, declaration?: Declaration): Promise<CommandResult> {
    this.mutating(sudo ? 'sudo' : '$');
    const declares = declaration ? await this.declared(declaration) : [];
    const effect: ExecEffect = {
      kind: 'exec',
      host: this.host,
      command: command.text,
      sudo,
      ...(command.simple ? { simple: true } : {}),
      ...(declares.length ? { declares } : {}),
      ...(declaration?.stdin ? { stdinVar: declaration.stdin.shownAs } : {}),
    };
    this.add(effect);
    this.execCount++;
    if (this.mode === 'plan') {
      return { stdout: placeholder(this.execCount === 1 ? this.step : `${this.step}#${this.execCount}`), stderr: '', exitCode: 0, ok: true };
    }
    const stdin = declaration?.stdin ? new TextEncoder().encode(`${declaration.stdin.value}\n`) : undefined;
    // Nothing declared to compare afterwards (a quiet command, one fed a secret): just the command.
    if (!declaration || !(declares.length || declaration.watch?.length)) return this.run(command, sudo, stdin, declaration?.quiet);
    // The backups of what it overwrites, then the command, then what it really did against what it said.
    for (const c of commandsFor(effect).slice(0, -1)) await this.run(c.command, c.sudo);
    const before = await this.listFiles(declaration.watch ?? []);
    const result = await this.run(command, sudo, stdin, declaration.quiet);
    await this.compareDeclared(declaration, declares, before);
    return result;
  }

  /** Each declared path as the host has it now: exists, size, and where an overwritten one is kept. */
  private async declared(d: Declaration): Promise<DeclaredPath[]> {
    const out: DeclaredPath[] = [];
    const entries: [string, DeclaredPath['action']][] = [
      ...(d.writes ?? []).map((p) => [p, 'write'] as [string, 'write']),
      ...(d.erases ?? []).map((p) => [p, 'erase'] as [string, 'erase']),
    ];
    // As this step's view has them (gathered once; cleared by its own changes), the rest in one command.
    const stats = await this.view.statMany(entries.map(([path]) => declaredBase(path)));
    for (const [i, [path, action]] of entries.entries()) {
      const base = declaredBase(path);
      const fromPlan = this.opts.overlay.get(this.host, base);
      const exists = fromPlan !== undefined ? fromPlan !== null : stats[i]!.exists;
      const item: DeclaredPath = { path, action, exists };
      if (exists) {
        const bytes = fromPlan ? fromPlan.length : await this.opts.host.diskUsage(base);
        if (bytes !== undefined) item.bytes = bytes;
        if (action === 'write') item.backup = `${this.opts.backupRoot}${base}`;
      }
      this.observe(`declared ${action} ${path}\n${exists}`);
      out.push(item);
    }
    return out;
  }

  /** Files under the watched directories with their size and change time (the engine's own check, not a task's probe). */
  private async listFiles(dirs: readonly string[]): Promise<Map<string, string> | undefined> {
    if (!dirs.length) return undefined;
    const r = await this.opts.host.exec(buildCommand(['sh -c ', ' sh ', ''], [LIST_FILES, dirs]).text, { signal: this.signal });
    if (r.exitCode !== 0) return undefined;
    return new Map(r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]));
  }

  private async compareDeclared(d: Declaration, declares: DeclaredPath[], before: Map<string, string> | undefined): Promise<void> {
    const label = d.label ?? 'the command';
    const differences: string[] = [];
    // The command just changed the host, so none of these is kept: they are asked now, in one command.
    this.view.changed();
    const stats = await this.view.statMany(declares.map((x) => declaredBase(x.path)));
    for (const [i, item] of declares.entries()) {
      const base = declaredBase(item.path);
      const st = stats[i]!;
      const emptied = item.path.endsWith('/*') && st.exists && (await this.listFiles([base]))?.size === 0;
      if (item.action === 'write' && !st.exists) differences.push(`did not write ${item.path}`);
      if (item.action === 'erase' && st.exists && !emptied) differences.push(`did not erase ${item.path}`);
    }
    const after = await this.listFiles(d.watch ?? []);
    if (before && after) {
      const writes = declares.filter((x) => x.action === 'write').map((x) => declaredBase(x.path));
      const covered = (f: string) => writes.some((w) => f === w || f.startsWith(`${w}/`));
      for (const [file, stamp] of after) if (before.get(file) !== stamp && !covered(file)) differences.push(`also wrote ${file}, which it did not declare`);
    }
    if (differences.length) this.note('warn', `${label} ${differences.join('; ')}`, 'the audited plan did not show this: review the paths above');
    else this.note('info', `${label} wrote and erased exactly the ${declares.length} declared paths`);
  }

  private async run(command: Command, sudo: boolean, stdin?: Uint8Array, quiet = false): Promise<CommandResult> {
    const facts = sudo ? await this.opts.host.facts() : undefined;
    const text = sudo ? asRoot(command, facts!.uid === 0) : command.text;
    // Whatever this command changes, no probe answer read before (or during) it still holds.
    this.view.changed();
    let r;
    try {
      r = await this.opts.host.exec(text, {
        stdin,
        signal: this.signal,
        ...(quiet ? {} : { onLine: (s: 'stdout' | 'stderr', l: string) => this.opts.onOutput(s, l) }),
      });
    } finally {
      this.view.changed();
    }
    // A quiet command's output is the secret it was run for: not even a failure shows it.
    if (r.exitCode !== 0) throw new ExecError(this.host, command.text, r.exitCode, quiet ? '' : r.stdout, r.stderr, r.signal);
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, ok: true };
  }

  private async perform(effect: Effect, content?: Uint8Array): Promise<void> {
    for (const c of commandsFor(effect, content)) await this.run(c.command, c.sudo, c.stdin);
  }

  /** Records an effect as shown (secrets redacted); the caller performs the original. */
  private add(effect: Effect): void {
    const shown = this.opts.secrets ? this.opts.secrets.redactDeep(effect) : effect;
    if (shown.kind === 'write' && effect.kind === 'write' && shown.content !== effect.content) shown.secret = true;
    this.opts.expectation?.match(this.step, shown);
    this.record.effects.push(shown);
    this.opts.onEffect(shown);
  }

  private mutating(what: string): void {
    if (this.readOnly) throw new Error(`the check of step '${this.step}' called ctx.${what}: a check may only read (probe, read, exists)`);
  }

  private observe(fact: string): void {
    this.observedHash.update(fact + '\0');
  }

  /** The file as this run would find it: the plan's own earlier writes first, then the host. */
  private async current(path: string): Promise<Uint8Array | null> {
    const fromPlan = this.opts.overlay.get(this.host, path);
    if (fromPlan !== undefined) return fromPlan;
    return this.view.readFile(path);
  }

  private async currentMode(path: string): Promise<string | undefined> {
    const fromPlan = this.opts.overlay.mode(this.host, path);
    if (fromPlan !== undefined) return fromPlan;
    return (await this.view.stat(path)).mode;
  }
}

/** A diff of a file that may hold credentials: which lines change, not their text. */
function whereOnly(diff: string): string {
  const hunks = diff.split('\n').filter((l) => l.startsWith('@@'));
  return `(content not shown: the file may hold credentials; changed at ${hunks.map((h) => h.replace(/^@@ | @@.*$/g, '')).join(', ') || 'its mode'})\n`;
}

function formatSize(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// What the tools accept (and never a leading '-', which they would read as an option).
const PACKAGE = /^[A-Za-z0-9][A-Za-z0-9+._~:=@-]*$/;
const UNIT = /^[A-Za-z0-9_][A-Za-z0-9_.:@\\-]*$/;
const OWNER = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*\$?)(?::[A-Za-z0-9_][A-Za-z0-9_.-]*\$?)?$/;

function checkName(what: string, value: string, pattern: RegExp): void {
  if (typeof value !== 'string' || !pattern.test(value) || value.length > 256) {
    throw new UserError('NAME_INVALID', `${what} name ${JSON.stringify(value)} is not valid`, {
      fix: `a ${what} name has letters, digits and . _ - (and never starts with -)`,
    });
  }
}

function absolute(path: string): void {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new UserError('PATH_NOT_ABSOLUTE', `path ${JSON.stringify(path)} must be absolute`);
  if (path.includes('\0')) throw new UserError('PATH_INVALID', 'path contains a NUL byte');
}

function normalizeMode(mode: string): string {
  if (!/^0?[0-7]{3,4}$/.test(mode)) {
    throw new UserError('MODE_INVALID', `file mode ${JSON.stringify(mode)} is not an octal mode`, { fix: "write it like '0644'" });
  }
  return mode.padStart(4, '0').slice(-4);
}

/** Where fetchText keeps a URL's text in the download cache (keyed by the URL). */
export function downloadCachePath(cacheDir: string, url: string, parsed = new URL(url)): string {
  const name = parsed.pathname.split('/').filter(Boolean).pop() || 'download';
  return `${cacheDir}/${sha256(Buffer.from(url)).slice(0, 16)}/${name}`;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

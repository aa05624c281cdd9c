// Runs a graph: in plan mode one step after another (deterministic, nothing performed), in run mode
// independent steps at once (bounded). A failed step's dependents are skipped; the rest go on.
import { type Mode, StepContext, type StepRecord } from './context.ts';
import { isMutating } from './effect-kinds.ts';
import type { Effect, Note } from './effects.ts';
import { errorLine, RefusedError, UserError } from './errors.ts';
import type { EngineEvent, Events, StepStatus } from './events.ts';
import { Expectation } from './expectation.ts';
import type { Graph, GraphStep } from './graph.ts';
import type { Host } from './hosts/host.ts';
import type { HostPool } from './hosts/pool.ts';
import { Overlay } from './overlay.ts';
import type { FactProbe } from './facts.ts';
import type { FactMemo } from './fact-memo.ts';
import { ProbeCache } from './probe-cache.ts';
import { type Outputs, resolveParams } from './task.ts';
import { evaluate, literal, outputsLookup, referencedSteps, TemplateError } from './template.ts';
import type { HostSpec } from './recipe.ts';

export interface StepResult extends StepRecord {
  id: string;
  task: string;
  host: string;
  status: StepStatus;
  outputs?: Outputs;
  error?: unknown;
  ms: number;
}

export interface PlannedStep {
  status: 'change' | 'ok';
  effects: Effect[];
}

export interface ScheduleOptions {
  graph: Graph;
  mode: Mode;
  profile: string;
  concurrency: number;
  events: Events;
  signal: AbortSignal;
  pool: HostPool;
  /** Where overwritten files are backed up on a host. */
  backupRoot(host: Host): Promise<string>;
  cacheDir: string;
  /** Answers of memoized facts kept across plans and runs; none kept when absent. */
  factMemo?: FactMemo;
  /** In a run after a plan: what the plan listed per step. */
  planned?: Map<string, PlannedStep>;
  /** Run recipe-supplied probes while planning too. */
  allowRecipeProbes?: boolean;
  download(url: string, dest: string, sha256: string | undefined, signal: AbortSignal, progress: (line: string) => void): Promise<void>;
  downloadCached(dest: string, sha256: string | undefined): Promise<boolean>;
}

export interface ScheduleResult {
  steps: StepResult[];
  status: 'ok' | 'failed' | 'interrupted';
  ms: number;
}

export async function schedule(opts: ScheduleOptions): Promise<ScheduleResult> {
  const started = Date.now();
  const { graph, events } = opts;
  const overlay = new Overlay();
  const outputs: Record<string, Outputs | undefined> = {};
  const results = new Map<string, StepResult>();
  const announced = new Set<string>();
  // New for every plan and every run: a run reads the host afresh, not what its plan saw.
  const probes = new ProbeCache(opts.factMemo, opts.events.secrets);
  /** The facts every step on a host declares, with the parameters known so far. */
  const factsOf = (s: GraphStep, scope: Parameters<typeof evaluate>[1]): FactProbe[] => {
    if (!s.task.facts) return [];
    try {
      return [...s.task.facts(resolveParams(s.task, evaluate(s.with, scope) as Record<string, unknown>) as never)];
    } catch { /* below */ }
    // A parameter that needs a step's output is not known yet: the facts that need no parameter are
    // still gathered, and the step's other probes run on their own.
    try {
      return [...s.task.facts({} as never)];
    } catch {
      return [];
    }
  };
  const declared = (hostName: string, scope: Parameters<typeof evaluate>[1]): FactProbe[] =>
    graph.steps.flatMap((s) => (s.host === hostName ? factsOf(s, scope) : []));
  events.emit({
    type: 'run-start',
    mode: opts.mode,
    recipe: graph.recipe.name,
    profile: opts.profile,
    steps: graph.steps.map((s) => ({ id: s.id, task: s.task.name, host: s.host, needs: s.needs })),
  });

  const runStep = async (step: GraphStep): Promise<StepResult> => {
    const t0 = Date.now();
    const base = { id: step.id, task: step.task.name, host: step.host, effects: [] as Effect[], notes: [] as Note[], observed: '' };
    let ctx: StepContext | undefined;
    try {
      const runScope = { params: {}, profile: opts.profile, env: {}, step: outputsLookup(outputs) };
      const resolve = <T>(v: T): T => {
        try {
          return evaluate(v, runScope) as T;
        } catch (e) {
          if (e instanceof TemplateError) throw new UserError('TEMPLATE_INVALID', `step '${step.id}': ${e.message}`, { where: step.where(['with']) });
          throw e;
        }
      };
      const given = literal(resolve(step.with));
      // Registered before the values are checked, so not even an error about one shows it.
      for (const [k, spec] of Object.entries(step.task.params)) if (spec.secret) events.secrets.add(k, (given as Record<string, unknown>)[k] ?? spec.default);
      const params = resolveParams(step.task, given, opts.mode === 'plan' && referencedSteps(step.with).length > 0);
      const spec = step.hostSpec ? literal(resolve<HostSpec>(step.hostSpec)) : undefined;
      // While planning, a machine whose creating step will change something does not exist yet.
      const creating = opts.mode === 'plan' ? (step.hostCreatedBy ?? []).filter((id) => results.get(id)?.status === 'change') : [];
      const host = await opts.pool.get(step.host, spec, creating);
      base.host = host.name;
      events.emit({ type: 'step-start', step: step.id, task: step.task.name, host: host.name });
      const planned = opts.planned?.get(step.id);
      const gathering = await probes.gather(host, () => declared(step.host, runScope), opts.signal, () => factsOf(step, runScope));
      ctx = new StepContext({
        step: step.id,
        mode: opts.mode,
        host,
        profile: opts.profile,
        backupRoot: await opts.backupRoot(host),
        cacheDir: opts.cacheDir,
        overlay,
        probes,
        signal: opts.signal,
        ...(gathering ? { gathering } : {}),
        onEffect: (effect) => events.emit({ type: 'effect', step: step.id, effect }),
        onNote: (note) => events.emit({ type: 'note', step: step.id, note }),
        onOutput: (stream, line) => events.emit({ type: 'output', step: step.id, stream, line }),
        ...(opts.planned ? { expectation: new Expectation(planned?.effects ?? []) } : {}),
        ...(opts.allowRecipeProbes ? { allowRecipeProbes: true } : {}),
        secrets: events.secrets,
        download: opts.download,
        downloadCached: opts.downloadCached,
      });
      if (host.firstUse && !announced.has(host.name)) {
        announced.add(host.name);
        ctx.note('info', host.firstUse);
      }
      let done = false;
      if (step.task.check) {
        ctx.readOnly = true;
        const answer: unknown = await step.task.check(ctx, params as never);
        if (typeof answer !== 'boolean') {
          throw new UserError(
            'TASK_INVALID',
            `the check of task '${step.task.name}' returned ${answer === null ? 'null' : typeof answer}: it must return true (done) or false`,
          );
        }
        done = answer;
        ctx.readOnly = false;
      }
      let out: Outputs | undefined;
      if (done) {
        if (step.task.outputs) {
          ctx.readOnly = true;
          out = await step.task.outputs(ctx, params as never);
        }
      } else {
        out = (await step.task.run(ctx, params as never)) ?? undefined;
      }
      // Registered before anything shows the outputs: the step's result, the state file, a later step's command.
      for (const k of step.task.secretOutputs ?? []) if (out?.[k] !== undefined) events.secrets.add(`${step.id}.${k}`, out[k]);
      outputs[step.id] = out ?? {};
      // A step whose run changed nothing (e.g. a write of content already there) is ok, not a change.
      const status = done || !ctx.record.effects.some(isMutating) ? 'ok' : 'change';
      const ms = Date.now() - t0;
      events.emit({ type: 'step-finish', step: step.id, status, ms });
      return { ...base, ...ctx.finish(), status, ...(out ? { outputs: out } : {}), ms };
    } catch (error) {
      const ms = Date.now() - t0;
      const interrupted = opts.signal.aborted;
      const record = ctx?.finish() ?? { effects: [], notes: [], observed: '' };
      events.emit({ type: 'step-failed', step: step.id, error: errorLine(error, interrupted), ms });
      if (error instanceof Error) error.message = events.secrets.redact(error.message);
      return { ...base, ...record, status: interrupted ? 'interrupted' : 'failed', error, ms };
    }
  };

  const skip = (step: GraphStep, reason: string): StepResult => {
    events.emit({ type: 'step-skipped', step: step.id, reason });
    return { id: step.id, task: step.task.name, host: step.host, effects: [], notes: [], observed: '', status: 'skipped', ms: 0 };
  };

  const blockedBy = (step: GraphStep): string | undefined => {
    for (const n of step.needs) {
      const r = results.get(n);
      if (r && r.status !== 'change' && r.status !== 'ok') {
        return `needs '${n}', which ${r.status === 'skipped' ? 'was skipped' : r.status === 'interrupted' ? 'was interrupted' : 'failed'}`;
      }
    }
    return undefined;
  };

  if (opts.mode === 'plan') {
    for (const step of graph.steps) {
      const reason = opts.signal.aborted ? 'interrupted' : blockedBy(step);
      results.set(step.id, reason ? skip(step, reason) : await runStep(step));
    }
    blockUnorderedWriters(graph, results, events);
  } else {
    await runConcurrently(graph.steps, Math.max(1, opts.concurrency), results, runStep, skip, blockedBy, opts.signal);
  }

  const steps = graph.steps.map((s) => results.get(s.id)!);
  const status = opts.signal.aborted ? 'interrupted' : steps.some((s) => s.status === 'failed' || s.status === 'skipped') ? 'failed' : 'ok';
  const counts: Record<StepStatus, number> = { change: 0, ok: 0, failed: 0, skipped: 0, interrupted: 0 };
  for (const s of steps) counts[s.status]++;
  const ms = Date.now() - started;
  events.emit({ type: 'run-finish', mode: opts.mode, status, counts, ms } satisfies EngineEvent);
  return { steps, status, ms };
}

async function runConcurrently(
  steps: GraphStep[],
  limit: number,
  results: Map<string, StepResult>,
  runStep: (s: GraphStep) => Promise<StepResult>,
  skip: (s: GraphStep, reason: string) => StepResult,
  blockedBy: (s: GraphStep) => string | undefined,
  signal: AbortSignal,
): Promise<void> {
  const pending = [...steps];
  const running = new Map<string, Promise<void>>();
  while (pending.length || running.size) {
    let progressed = false;
    for (const step of [...pending]) {
      const needsDone = step.needs.every((n) => results.has(n));
      if (!needsDone) continue;
      const reason = signal.aborted ? 'interrupted' : blockedBy(step);
      if (reason) {
        pending.splice(pending.indexOf(step), 1);
        results.set(step.id, skip(step, reason));
        progressed = true;
        continue;
      }
      if (running.size >= limit) continue;
      pending.splice(pending.indexOf(step), 1);
      running.set(
        step.id,
        runStep(step).then((r) => {
          results.set(step.id, r);
          running.delete(step.id);
        }),
      );
      progressed = true;
    }
    if (progressed) continue;
    if (!running.size) break; // nothing runnable: cannot happen in a validated graph
    await Promise.race(running.values());
  }
}

/**
 * Two steps that write one file with no order between them would race in a run (independent steps
 * run at once), so the plan's order would be a guess: the later one is blocked until one needs the other.
 */
function blockUnorderedWriters(graph: Graph, results: Map<string, StepResult>, events: Events): void {
  const needs = new Map(graph.steps.map((s) => [s.id, s.needs]));
  const before = (a: string, b: string, seen = new Set<string>()): boolean => {
    for (const n of needs.get(b) ?? []) {
      if (n === a) return true;
      if (!seen.has(n)) {
        seen.add(n);
        if (before(a, n, seen)) return true;
      }
    }
    return false;
  };
  const writers = new Map<string, string>();
  for (const step of graph.steps) {
    const r = results.get(step.id);
    if (!r) continue;
    for (const e of r.effects) {
      if (e.kind !== 'write' && e.kind !== 'remove') continue;
      const key = `${e.host}\0${e.path}`;
      const other = writers.get(key);
      if (other && other !== step.id && !before(other, step.id) && !before(step.id, other)) {
        const note: Note = {
          level: 'error',
          message: `steps '${other}' and '${step.id}' both change ${e.path}${
            e.host === 'local' ? '' : ` on ${e.host}`
          } and neither needs the other: a run could do them in either order`,
          fix: `add ${other} to the needs of ${step.id} (or the other way round)`,
          blocks: 'WRITERS_UNORDERED',
        };
        r.notes.push(note);
        events.emit({ type: 'note', step: step.id, note });
      }
      writers.set(key, step.id);
    }
  }
}

/** The exit code a finished run deserves: refused (3) beats bad input (2) beats failure (1). */
export function runExitCode(result: ScheduleResult): number {
  if (result.status === 'interrupted') return 130;
  const errors = result.steps.map((s) => s.error).filter(Boolean);
  if (errors.some((e) => e instanceof RefusedError)) return 3;
  if (errors.some((e) => e instanceof UserError)) return 2;
  return result.status === 'ok' ? 0 : 1;
}

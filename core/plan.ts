// The plan document: stable, versioned JSON that `apply` runs exactly.
import { createHash } from 'node:crypto';
import type { Effect, Note } from './effects.ts';
import { countEffect, describeEffect } from './effect-kinds.ts';
import { errorLine, RefusedError, UserError } from './errors.ts';
import type { HostInfo } from './hosts/host.ts';
import type { ScheduleResult } from './scheduler.ts';

export interface PlanStep {
  id: string;
  task: string;
  host: string;
  status: 'change' | 'ok' | 'failed' | 'skipped' | 'interrupted';
  effects: Effect[];
  notes?: Note[];
  error?: string;
}

export interface PlanSummary {
  commands: number;
  sudoCommands: number;
  filesWritten: number;
  filesOverwritten: number;
  filesRemoved: number;
  ports: number;
  packages: number;
  /** Packages a transaction would remove or downgrade. */
  packagesRemoved: number;
  services: number;
  downloads: number;
  stepsChanging: number;
  stepsOk: number;
}

export interface PlanDocument {
  version: 1;
  recipe: string;
  recipeFile: string;
  profile: string;
  params: Record<string, unknown>;
  /** Set when the plan was made with --only: the steps asked for (their needs come along). */
  only?: string[];
  /** Set when the plan ran the read-only commands the recipe supplied (--allow-recipe-probes). */
  recipeProbes?: true;
  hosts: HostInfo[];
  steps: PlanStep[];
  summary: PlanSummary;
  digest: string;
}

export function buildPlan(
  args: {
    recipe: string;
    recipeFile: string;
    profile: string;
    params: Record<string, unknown>;
    only?: readonly string[];
    recipeProbes?: boolean;
    hosts: HostInfo[];
    result: ScheduleResult;
  },
): PlanDocument {
  const steps: PlanStep[] = args.result.steps.map((s) => ({
    id: s.id,
    task: s.task,
    host: s.host,
    status: s.status,
    effects: s.effects,
    ...(s.notes.length ? { notes: s.notes } : {}),
    ...(s.error ? { error: errorLine(s.error) } : {}),
  }));
  const body = {
    version: 1 as const,
    recipe: args.recipe,
    recipeFile: args.recipeFile,
    profile: args.profile,
    params: args.params,
    ...(args.only?.length ? { only: [...args.only] } : {}),
    ...(args.recipeProbes ? { recipeProbes: true as const } : {}),
    hosts: args.hosts,
    steps,
    summary: summarize(steps),
  };
  return { ...body, digest: planDigest(body) };
}

/**
 * The digest covers what a run would do and the facts that decides on (each effect with what it
 * found: exists, current content's digest, unchanged; each step's status; what blocks a run), and
 * not incidental readings (free memory, a directory's size, how a runtime words a message): a plan
 * of an unchanged machine has the same digest every time, under Node and Deno alike.
 */
export function planDigest(body: Omit<PlanDocument, 'digest'>): string {
  return digestOf({
    ...body,
    steps: body.steps.map((s) => ({
      id: s.id,
      task: s.task,
      host: s.host,
      status: s.status,
      effects: s.effects.map(decisive),
      blocks: (s.notes ?? []).filter((n) => n.blocks).map((n) => n.blocks),
      ...(s.error !== undefined ? { failed: true } : {}),
    })),
  });
}

/** An effect without its incidental readings. */
export function decisive(e: Effect): Effect {
  if (e.kind === 'remove') {
    const { bytes: _bytes, ...rest } = e;
    return rest;
  }
  if (e.kind === 'probe' && e.kept !== undefined) {
    const { kept: _kept, ...rest } = e;
    return rest;
  }
  return e;
}

export function summarize(steps: PlanStep[]): PlanSummary {
  const s: PlanSummary = {
    commands: 0,
    sudoCommands: 0,
    filesWritten: 0,
    filesOverwritten: 0,
    filesRemoved: 0,
    ports: 0,
    packages: 0,
    packagesRemoved: 0,
    services: 0,
    downloads: 0,
    stepsChanging: 0,
    stepsOk: 0,
  };
  for (const step of steps) {
    if (step.status === 'change') s.stepsChanging++;
    if (step.status === 'ok') s.stepsOk++;
    for (const e of step.effects) countEffect(e, s);
  }
  return s;
}

export function digestOf(value: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonical(value)).digest('hex');
}

/** JSON with sorted keys: the same plan always has the same digest. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${
      Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined).map((k) =>
        `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`
      ).join(',')
    }}`;
  }
  return JSON.stringify(value);
}

/** Checks a saved plan is whole and unedited. */
export function verifyPlan(doc: unknown, file: string): PlanDocument {
  // Not a plan at all is bad input (2), like a file that is not JSON; an edited plan is refused (3).
  const bad = (why: string) =>
    new UserError('PLAN_INVALID', `${file} is not a kubestrap plan: ${why}`, { fix: 'make one with kubestrap plan RECIPE --out FILE' });
  if (!doc || typeof doc !== 'object') throw bad('not a JSON object');
  const d = doc as PlanDocument;
  if (d.version !== 1) throw bad(`version ${JSON.stringify(d.version)} is not supported (expected 1)`);
  if (!Array.isArray(d.steps) || typeof d.recipeFile !== 'string' || typeof d.digest !== 'string') throw bad('fields are missing');
  const { digest, ...body } = d;
  if (planDigest(body) !== digest) {
    throw new RefusedError('PLAN_EDITED', `${file} was changed after it was made (its digest does not match)`, {
      fix: 'make a new plan instead of editing one',
    });
  }
  return d;
}

/** Why a fresh plan differs from the audited one, in one line; undefined when they agree. */
export function driftBetween(audited: PlanDocument, fresh: PlanDocument): string | undefined {
  if (audited.digest === fresh.digest) return undefined;
  const byId = new Map(fresh.steps.map((s) => [s.id, s]));
  for (const a of audited.steps) {
    const f = byId.get(a.id);
    if (!f) return `step '${a.id}' is no longer in the recipe`;
    if (a.status !== f.status) return `step '${a.id}' was '${a.status}' and is now '${f.status}'`;
    for (let i = 0; i < Math.max(a.effects.length, f.effects.length); i++) {
      const x = a.effects[i], y = f.effects[i];
      if (canonical(x && decisive(x)) !== canonical(y && decisive(y))) {
        if (!y) return `step '${a.id}' would no longer ${describeEffect(x!)}`;
        if (!x) return `step '${a.id}' would now also ${describeEffect(y)}`;
        return `step '${a.id}' would now ${describeEffect(y)} instead of ${describeEffect(x)}`;
      }
    }
    const blocks = (s: PlanStep) => canonical((s.notes ?? []).filter((n) => n.blocks).map((n) => n.blocks));
    if (blocks(a) !== blocks(f)) return `what blocks step '${a.id}' on ${a.host} has changed`;
  }
  if (fresh.steps.length !== audited.steps.length) return 'the recipe has new steps';
  if (canonical(audited.params) !== canonical(fresh.params)) return 'the parameters differ';
  if (canonical(audited.hosts) !== canonical(fresh.hosts)) return 'the hosts or their users differ';
  return 'the plan differs';
}

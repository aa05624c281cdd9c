// What every command shares: the engine's options from the global flags, --set, planning and
// running with the right renderer, and the confirmation before root commands.
import { join, resolve } from 'node:path';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { fsReason } from '../core/profile.ts';
import type { Secrets } from '../core/secrets.ts';
import { RefusedError, UserError } from '../core/errors.ts';
import { Events } from '../core/events.ts';
import type { EngineOptions } from '../core/engine.ts';
import type { PlanDocument } from '../core/plan.ts';
import type { Style } from '../core/render/style.ts';
import type { Io } from '../cli.ts';

export interface Global {
  tasks?: string | string[];
  json?: boolean;
  verbose?: boolean;
  yes?: boolean;
  profile?: string;
  concurrency?: number;
  only?: string | string[];
  allowRecipeProbes?: boolean;
}

export interface PlanFlags extends Global {
  set?: unknown;
  format: string;
  out?: string;
  detailedExitcode?: boolean;
}

type Engine = typeof import('../core/engine.ts');
type Outcome = { exitCode: number; plan: PlanDocument; result?: unknown };

export class App {
  /** Set by a command's action; main() returns it. */
  exitCode = 0;
  constructor(readonly io: Io, readonly style: Style, readonly verbose: boolean, readonly root: string, readonly secrets: Secrets) {}

  /** The events of one engine call, redacted with this call's secrets. */
  events(): Events {
    return new Events(this.secrets);
  }

  async engineOptions(g: Global, events: Events): Promise<EngineOptions> {
    const [{ builtinTasks }, { optionSets }] = await Promise.all([import('../tasks/index.ts'), import('../drivers/index.ts')]);
    const concurrency = Number(g.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UserError('USAGE', '--concurrency must be a whole number ≥ 1');
    return {
      env: this.io.env,
      cwd: this.io.cwd,
      recipeDirs: [join(this.root, 'recipes')],
      builtinTasks,
      optionSets: optionSets(),
      taskFiles: ([] as string[]).concat(g.tasks ?? []).map((t) => resolve(this.io.cwd, t)),
      profile: String(g.profile ?? 'kubestrap'),
      concurrency,
      events,
      signal: this.io.signal,
      ...(this.io.early ? { earlyStart: this.io.early } : {}),
      ...(g.only !== undefined ? { only: ([] as unknown[]).concat(g.only).map(String) } : {}),
      ...(g.allowRecipeProbes ? { allowRecipeProbes: true } : {}),
    };
  }

  /** --set key=value (repeatable) as recipe parameters. */
  sets(v: unknown): Record<string, string> {
    const out: Record<string, string> = {};
    for (const item of ([] as unknown[]).concat(v ?? [])) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq <= 0) throw new UserError('USAGE', `--set ${s}: expected key=value`, { fix: 'e.g. --set text=hello' });
      out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }

  /** Plans a recipe and prints the plan in the format asked for. */
  async plan(recipe: string, o: PlanFlags, overrides: Record<string, unknown> = this.sets(o.set)): Promise<number> {
    if (!['text', 'json', 'sh'].includes(o.format)) throw new UserError('USAGE', `--format ${o.format}: use text, json or sh`);
    const engine = await import('../core/engine.ts');
    const renderers = await import('../core/render/events.ts');
    const events = this.events();
    const off = o.json ? events.on(renderers.jsonRenderer(this.io.stdout)) : () => {};
    const { plan, exitCode } = await engine.plan(await this.engineOptions(o, events), recipe, overrides);
    off();
    if (o.out) writeAtomic(resolve(this.io.cwd, o.out), JSON.stringify(plan, null, 2) + '\n');
    if (o.json) this.io.stdout.write(JSON.stringify({ type: 'plan', plan }) + '\n');
    else if (o.format === 'json') this.io.stdout.write(JSON.stringify(plan, null, 2) + '\n');
    else if (o.format === 'sh') this.io.stdout.write((await import('../core/render/plan-sh.ts')).renderPlanSh(plan));
    else this.io.stdout.write((await import('../core/render/plan-text.ts')).renderPlanText(plan, this.style));
    if (o.detailedExitcode) {
      // terraform's convention, so CI can ask whether a machine is converged: 0 yes, 2 no, 1 cannot tell.
      const blocked = plan.steps.some((s) => (s.notes ?? []).some((n) => n.blocks));
      return exitCode !== 0 || blocked ? 1 : plan.summary.stepsChanging > 0 ? 2 : 0;
    }
    return exitCode;
  }

  /** Runs an engine call (run or apply) with live output. */
  async run(o: Global, call: (engine: Engine, opts: EngineOptions) => Promise<Outcome>): Promise<number> {
    const engine = await import('../core/engine.ts');
    const renderers = await import('../core/render/events.ts');
    const events = this.events();
    const opts = await this.engineOptions(o, events);
    const stop = this.renderEvents(renderers, o, events);
    try {
      const outcome = await call(engine, opts);
      if (!outcome.result) {
        // The plan itself failed (a probe or a parameter): show it, nothing ran. With --json as the
        // same plan event a run emits before it starts, its failed steps carrying their errors.
        this.io.stdout.write(
          o.json
            ? JSON.stringify({ type: 'plan', plan: outcome.plan }) + '\n'
            : (await import('../core/render/plan-text.ts')).renderPlanText(outcome.plan, this.style),
        );
      }
      return outcome.exitCode;
    } finally {
      stop();
    }
  }

  /** Shows the plan, then asks before root commands (or refuses without a terminal, unless --yes). */
  confirmFor(g: Global): (plan: PlanDocument) => Promise<void> {
    return async (plan) => {
      const { privileged } = await import('../core/engine.ts');
      const { renderPlanText } = await import('../core/render/plan-text.ts');
      const { io } = this;
      io.stdout.write(g.json ? JSON.stringify({ type: 'plan', plan }) + '\n' : renderPlanText(plan, this.style) + '\n');
      const rootCount = privileged(plan);
      if (rootCount === 0 || g.yes) return;
      if (!io.stdinIsTTY || !io.stdout.isTTY) {
        throw new RefusedError('CONFIRMATION_NEEDED', `the plan runs ${rootCount} commands as root and there is no terminal to confirm`, {
          fix: 'review the plan above, then pass --yes',
        });
      }
      const answer = (await io.ask(`Run ${rootCount} commands as root? [y/N] `)).trim().toLowerCase();
      if (answer !== 'y' && answer !== 'yes') throw new RefusedError('CONFIRMATION_DECLINED', 'not confirmed: nothing was changed');
    };
  }

  private renderEvents(renderers: typeof import('../core/render/events.ts'), g: Global, events: Events): () => void {
    const { io } = this;
    if (g.json) return events.on(renderers.jsonRenderer(io.stdout));
    if (io.stdout.isTTY && !this.verbose) {
      const tty = renderers.ttyRenderer(io.stdout, this.style, () => io.stdout.columns ?? 100);
      const off = events.on(tty.listener);
      return () => {
        tty.stop();
        off();
      };
    }
    return events.on(renderers.plainRenderer(io.stdout, this.style, this.verbose));
  }
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError('OUT_UNWRITABLE', `cannot write ${file}: ${fsReason(e)}`, { fix: 'give --out a file path in a writable directory' });
  }
}

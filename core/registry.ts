// Task names to tasks: the built-ins the CLI hands in, plus task files users load.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { didYouMean, UserError, type Where } from './errors.ts';
import { importModule } from './runtime.ts';
import { isTask, type Task } from './task.ts';

export class TaskRegistry {
  private tasks = new Map<string, { task: Task; source: string }>();
  private loaded = new Set<string>();

  add(task: Task, source: string): void {
    const have = this.tasks.get(task.name);
    if (have && have.task !== task) {
      throw new UserError('TASK_DUPLICATE', `task '${task.name}' from ${source} is already defined by ${have.source}`, { fix: 'rename one of them' });
    }
    this.tasks.set(task.name, { task, source });
  }

  /** where: the position to name if the task is unknown (a function, so it is computed only then). */
  get(name: string, where?: Where | (() => Where)): Task {
    const found = this.tasks.get(name);
    if (!found) {
      throw new UserError('TASK_UNKNOWN', `unknown task '${name}'`, {
        where: at(where),
        fix: didYouMean(name, this.tasks.keys()) ?? 'see `kubestrap tasks`; load your own with --tasks FILE or imports:',
      });
    }
    return found.task;
  }

  list(): { task: Task; source: string }[] {
    return [...this.tasks.values()].sort((a, b) => a.task.name.localeCompare(b.task.name));
  }

  /** Loads task files: a file's default export and named exports that are tasks; a directory's .ts/.js files. */
  async load(path: string, lazyWhere?: Where | (() => Where)): Promise<void> {
    const abs = resolve(path);
    let stat;
    try {
      stat = statSync(abs);
    } catch {
      throw new UserError('TASK_FILE_NOT_FOUND', `task file ${path} does not exist`, {
        where: at(lazyWhere),
        fix: 'check the path given to --tasks or imports:',
      });
    }
    if (stat.isDirectory()) {
      for (const name of readdirSync(abs).sort()) {
        if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') && !/\.test\.[mc]?[jt]s$/.test(name)) await this.load(join(abs, name), lazyWhere);
      }
      return;
    }
    if (!stat.isFile()) {
      throw new UserError('TASK_FILE_INVALID', `task file ${path} is not a regular file`, { where: at(lazyWhere), fix: 'give a .ts or .js file' });
    }
    if (this.loaded.has(abs)) return;
    this.loaded.add(abs);
    let mod: Record<string, unknown>;
    try {
      mod = await importModule(abs);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(e.reason, `${abs}: ${e.message}`, { fix: e.fix, where: at(lazyWhere) });
      const failure = loadFailure(e, abs);
      throw new UserError(
        'TASK_FILE_INVALID',
        failure.at ? `cannot load this task file: ${failure.message}` : `cannot load task file ${abs}: ${failure.message}`,
        {
          where: failure.at ?? at(lazyWhere),
          fix: 'fix the file so it loads, then try again',
        },
      );
    }
    const found = new Set<Task>();
    const collect = (v: unknown) => {
      if (isTask(v)) found.add(v);
      else if (Array.isArray(v)) v.forEach(collect);
    };
    Object.values(mod).forEach(collect);
    if (!found.size) {
      throw new UserError('TASK_FILE_EMPTY', `task file ${abs} exports no task`, {
        where: at(lazyWhere),
        fix: 'export default defineTask({ name, description, run })',
      });
    }
    for (const t of found) this.add(t, abs);
  }
}

/**
 * Why a task file did not load and, when the runtime names it, where in the file: esbuild (Node)
 * says "/path/x.ts:6:10: ERROR: Expected …" after a header line; Deno says "SyntaxError: …" and
 * later "at file:///path/x.ts:6:11".
 */
function loadFailure(e: unknown, abs: string): { message: string; at?: Where } {
  const lines = (e instanceof Error ? e.message : String(e)).split('\n').map((l) => l.trim()).filter(Boolean);
  for (const l of lines) {
    const m = /^(?:at )?(?:file:\/\/)?(\/.*?):(\d+):(\d+)(?:: ERROR: (.*))?$/.exec(l);
    if (!m || decodeURIComponent(m[1]!) !== abs) continue;
    const message = m[4] ?? lines[0]!.replace(/^SyntaxError: /, '');
    return { message, at: { file: abs, line: Number(m[2]), column: Number(m[3]) } };
  }
  return { message: lines[0] ?? 'unknown error' };
}

function at(where: Where | (() => Where) | undefined): Where | undefined {
  return typeof where === 'function' ? where() : where;
}

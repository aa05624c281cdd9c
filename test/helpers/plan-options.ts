// The engine's options for a plan in a test: the shipped recipes and built-in tasks, the local host
// given (a FixedHost for golden plans), KUBESTRAP_HOME in a temporary directory, one step at a time.
import { join } from 'node:path';
import type { EngineOptions } from '../../core/engine.ts';
import { Events } from '../../core/events.ts';
import type { Host } from '../../core/hosts/host.ts';
import { optionSets } from '../../drivers/index.ts';
import { builtinTasks } from '../../tasks/index.ts';
import { repoRoot } from './env.ts';

export function planOptions(home: string, localHost: Host, more: Partial<EngineOptions> = {}): EngineOptions {
  return {
    env: { KUBESTRAP_HOME: home },
    cwd: home,
    recipeDirs: [join(repoRoot, 'recipes')],
    builtinTasks,
    optionSets: optionSets(),
    taskFiles: [],
    profile: 'kubestrap',
    concurrency: 1,
    events: new Events(),
    signal: new AbortController().signal,
    localHost,
    hosts: new Map(),
    ...more,
  };
}

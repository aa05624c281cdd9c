// The public API for task files: `import { defineTask } from 'kubestrap'`.
export { defineTask, isTask } from './core/task.ts';
export type { Outputs, Params, ParamSpec, Task, TaskDefinition } from './core/task.ts';
export type { CommandResult, TaskContext, WriteOptions } from './core/context.ts';
export type { Effect } from './core/effects.ts';
export { quote } from './core/quote.ts';

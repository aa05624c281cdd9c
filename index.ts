// The public API for task files: `import { defineTask } from 'kubestrap'`.
export { defineTask, isTask } from './core/task.ts';
export type { Task, TaskDefinition, ParamSpec, Params, Outputs } from './core/task.ts';
export type { TaskContext, CommandResult, WriteOptions } from './core/context.ts';
export type { Effect } from './core/effects.ts';
export { quote } from './core/quote.ts';

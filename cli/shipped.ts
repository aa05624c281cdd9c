// What dist/kubestrap.cjs holds: the CLI and the task-file API in one bundle, so both are one copy.
export { runProcess } from '../cli.ts';
export * from '../index.ts';

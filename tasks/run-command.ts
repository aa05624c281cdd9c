import { defineTask } from '../core/task.ts';

export default defineTask({
  name: 'run-command',
  description: 'Run one command (argv words, each quoted); skipped when `creates` exists or `unless` succeeds',
  params: {
    argv: { type: 'string[]', description: 'the command and its arguments' },
    sudo: { type: 'boolean', default: false },
    creates: { type: 'string', default: '', description: 'absolute path the command makes: skip when it exists' },
    unless: { type: 'string[]', default: [], description: 'a read-only command: skip when it exits 0' },
  },
  async check(ctx, p) {
    if (p.creates && (await ctx.exists(p.creates))) return true;
    // The recipe wrote this command: a plan runs it only when the user allows recipe probes.
    if (p.unless.length && (await ctx.recipeProbe(p.unless))?.ok) return true;
    return false;
  },
  async run(ctx, p) {
    const r = p.sudo ? await ctx.sudo`${p.argv}` : await ctx.$`${p.argv}`;
    return { stdout: r.stdout.trim() };
  },
});

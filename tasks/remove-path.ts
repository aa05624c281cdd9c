import { defineTask } from '../core/task.ts';

export default defineTask({
  name: 'remove-path',
  description: 'Erase a file or directory (the plan shows its size first)',
  params: {
    path: { type: 'string', description: 'absolute path' },
    sudo: { type: 'boolean', default: false },
  },
  async check(ctx, p) {
    return !(await ctx.exists(p.path));
  },
  async run(ctx, p) {
    await ctx.remove(p.path, { sudo: p.sudo });
  },
});

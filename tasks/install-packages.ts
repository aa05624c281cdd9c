import { defineTask } from '../core/task.ts';

export default defineTask({
  name: 'install-packages',
  description: 'Install distribution packages that are not installed yet',
  params: {
    names: { type: 'string[]' },
  },
  async run(ctx, p) {
    await ctx.packages(p.names);
  },
});

import { defineTask } from '../core/task.ts';

export default defineTask({
  name: 'install-packages',
  description: 'Install distribution packages that are not installed yet (simulated first; removals and downgrades are blocked unless allowed)',
  params: {
    names: { type: 'string[]' },
    allowPackageChanges: {
      type: 'boolean',
      default: false,
      description: 'allow the transaction to remove or downgrade packages (it is simulated first and shown in the plan)',
    },
  },
  async run(ctx, p) {
    await ctx.packages(p.names, { allowRemovals: p.allowPackageChanges });
  },
});

import { defineTask } from '../core/task.ts';

export default defineTask({
  name: 'write-file',
  description: 'Write a file with the given content, mode and owner (atomic; the original is backed up)',
  params: {
    path: { type: 'string', description: 'absolute path' },
    content: { type: 'string', default: '' },
    mode: { type: 'string', default: '0644', pattern: '0?[0-7]{3,4}' },
    owner: { type: 'string', default: '' },
    sudo: { type: 'boolean', default: false },
  },
  async run(ctx, p) {
    await ctx.write(p.path, p.content, { mode: p.mode, ...(p.owner ? { owner: p.owner } : {}), sudo: p.sudo });
  },
});

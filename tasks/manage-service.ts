import { defineTask } from '../core/task.ts';

export default defineTask({
  name: 'manage-service',
  description: 'Enable, start, restart or stop a systemd service (only when its state differs)',
  params: {
    // Never a leading '-': systemctl would read the name as an option.
    name: { type: 'string', pattern: '[A-Za-z0-9@_:][A-Za-z0-9@._:-]*' },
    enabled: { type: 'boolean', default: true },
    running: { type: 'boolean', default: true },
  },
  async check(ctx, p) {
    const enabled = (await ctx.probe`systemctl is-enabled --quiet ${p.name}`).ok;
    const active = (await ctx.probe`systemctl is-active --quiet ${p.name}`).ok;
    return enabled === p.enabled && active === p.running;
  },
  async run(ctx, p) {
    const enabled = (await ctx.probe`systemctl is-enabled --quiet ${p.name}`).ok;
    const active = (await ctx.probe`systemctl is-active --quiet ${p.name}`).ok;
    if (enabled !== p.enabled) await ctx.service(p.name, p.enabled ? 'enable' : 'disable');
    if (active !== p.running) await ctx.service(p.name, p.running ? 'start' : 'stop');
  },
});

// A bounded wait for the API server's /livez, through the user's kubeconfig.
import type { TaskContext } from '../core/context.ts';
import { defineTask } from '../core/task.ts';
import { userKubeconfig } from './user-kubeconfig.ts';

const WAIT_SCRIPT = [
  'deadline=$(( $(date +%s) + $3 ))',
  'until "$1" --kubeconfig "$2" --request-timeout=5s get --raw=/livez >/dev/null 2>&1; do',
  '  if [ "$(date +%s)" -ge "$deadline" ]; then echo "the API server did not answer /livez within $3 s" >&2; exit 1; fi',
  '  sleep 2',
  'done',
].join('\n');

async function live(ctx: TaskContext, kubectl: string, kubeconfig: string): Promise<boolean> {
  return (await ctx.probe`${kubectl} --kubeconfig ${kubeconfig} --request-timeout=5s get --raw=/livez`).ok;
}

export default defineTask({
  name: 'wait-apiserver',
  description: 'Wait (bounded) until the API server answers /livez',
  params: {
    binDir: { type: 'string' },
    timeoutSeconds: { type: 'number', default: 300 },
  },
  async check(ctx, p) {
    return live(ctx, `${p.binDir}/kubectl`, (await userKubeconfig(ctx)).file);
  },
  async run(ctx, p) {
    const { file } = await userKubeconfig(ctx);
    await ctx.$`sh -c ${WAIT_SCRIPT} wait-apiserver ${`${p.binDir}/kubectl`} ${file} ${p.timeoutSeconds}`;
  },
});

// One cluster per machine: its ports and paths are fixed. The first profile to start on a machine
// claims it (a small file under /var/lib/kubestrap); another profile is refused until delete.
import type { TaskContext } from '../core/context.ts';
import { RefusedError } from '../core/errors.ts';
import { fileFact } from '../core/facts.ts';
import { defineTask } from '../core/task.ts';
import { kubernetesVersion } from '../options/cluster.ts';
import { taskParam } from '../options/option.ts';
import { CLAIM_FILE } from './k8s/paths.ts';

export interface Claim {
  profile: string;
  driver: string;
  kubernetesVersion: string;
}

export async function readClaim(ctx: TaskContext): Promise<Claim | undefined> {
  if (!(await ctx.exists(CLAIM_FILE))) return undefined;
  try {
    return JSON.parse(await ctx.read(CLAIM_FILE)) as Claim;
  } catch {
    return undefined;
  }
}

export function claimContent(c: Claim): string {
  return JSON.stringify({ profile: c.profile, driver: c.driver, kubernetesVersion: c.kubernetesVersion }) + '\n';
}

export function refuseOther(ctx: TaskContext, claim: Claim | undefined, doing: string): void {
  if (!claim || claim.profile === ctx.profile) return;
  throw new RefusedError('MACHINE_IN_USE', `${ctx.host} already hosts kubestrap cluster '${claim.profile}' (driver ${claim.driver}): ${doing}`, {
    fix: `use -p ${claim.profile}, or delete that cluster first (kubestrap delete -p ${claim.profile})`,
  });
}

export default defineTask({
  name: 'claim-node',
  description: "Record that this machine hosts the profile's cluster; refuse when another profile has it",
  facts: () => [fileFact(CLAIM_FILE)],
  params: {
    driver: { type: 'string' },
    kubernetesVersion: taskParam(kubernetesVersion),
  },
  async check(ctx, p) {
    const claim = await readClaim(ctx);
    refuseOther(ctx, claim, 'a second cluster here would collide with its ports and paths');
    return claim !== undefined && claimContent(claim) === claimContent({ profile: ctx.profile, ...p });
  },
  async run(ctx, p) {
    await ctx.write(CLAIM_FILE, claimContent({ profile: ctx.profile, ...p }), { mode: '0644', sudo: true });
  },
});

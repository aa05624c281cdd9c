// create-container-network against real engines (a private dockerd, a private podman service):
// the plan shows the exact `docker …`/`podman …` command, the run makes that network through the
// API with the profile's labels on the first free subnet, a second plan finds it done, and a search
// with no free subnet fails with one line. Subnets stay in 192.168.200.0–192.168.219.0.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { PlanDocument } from '../../core/plan.ts';
import { runCli } from '../helpers/cli.ts';
import { DOCKER_INSTALL, PODMAN_INSTALL, startDockerd, startPodman } from '../helpers/dockerd.ts';
import { isRoot, missing, tempDir } from '../helpers/env.ts';

const ENGINES = [
  { engine: 'docker', start: startDockerd, skip: missing(['dockerd', 'containerd'], DOCKER_INSTALL) ?? (isRoot ? undefined : 'needs root') },
  { engine: 'podman', start: startPodman, skip: missing(['podman'], PODMAN_INSTALL) ?? (isRoot ? undefined : 'needs root') },
] as const;

for (const { engine, start, skip } of ENGINES) {
  describe(`create-container-network on ${engine}`, { skip }, () => {
    it('plans the exact command, creates the labelled network on the first free subnet, then finds it done', { timeout: 180_000 }, async (t) => {
      // Stopped inside the test: Deno never runs t.after() of a test nested in describe().
      const teardown: (() => void | Promise<void>)[] = [];
      try {
        const socket = await start({
          after: (fn) => {
            teardown.push(fn);
          },
        });
        const docker = new Docker({ socketPath: socket });
        const dir = tempDir(t);
        const profile = `ks-net-${randomBytes(3).toString('hex')}`;
        // Someone else's network holds the first subnet of the search: it must be skipped.
        await docker.createNetwork({
          Name: `${profile}-other`,
          Driver: 'bridge',
          IPAM: { Config: [{ Subnet: '192.168.200.0/24', Gateway: '192.168.200.1' }] },
        });
        const recipe = join(dir, 'net.yaml');
        const write = (tries: number, name = profile) =>
          writeFileSync(
            recipe,
            `name: net
steps:
  - id: net
    task: create-container-network
    with: { engine: ${engine}, socket: "unix://${socket}", name: ${name}, subnet: 192.168.200.0/24, subnetStep: 1, subnetTries: ${tries} }
`,
          );
        write(20);
        const env = { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir };
        const cli = engine === 'docker' ? `docker -H unix://${socket}` : `podman --url unix://${socket}`;

        const plan = await runCli(['plan', recipe, '-p', profile, '--format', 'json'], env);
        assert.equal(plan.code, 0, plan.stderr);
        const step = (JSON.parse(plan.stdout) as PlanDocument).steps[0]!;
        const create = step.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command);
        assert.deepEqual(create, [
          `${cli} network create --driver bridge --subnet 192.168.201.0/24 --gateway 192.168.201.1 --label io.kubestrap.created-by=kubestrap --label io.kubestrap.profile=${profile} ${profile}`,
        ]);
        // Reads are listed too, marked read-only.
        assert.ok(step.effects.some((e) => e.kind === 'probe' && e.command.startsWith(`${cli} network inspect`)), JSON.stringify(step.effects));
        assert.equal((await docker.listNetworks()).some((n) => n.Name === profile), false, 'a plan creates nothing');

        const run = await runCli(['run', recipe, '-p', profile, '--yes'], env);
        assert.equal(run.code, 0, run.stderr + run.stdout);
        const net = await docker.getNetwork(profile).inspect();
        assert.equal(net.Driver, 'bridge');
        assert.deepEqual((net.IPAM?.Config ?? []).map((c) => [c.Subnet, c.Gateway]), [['192.168.201.0/24', '192.168.201.1']]);
        assert.equal(net.Labels?.['io.kubestrap.created-by'], 'kubestrap');
        assert.equal(net.Labels?.['io.kubestrap.profile'], profile);

        const again = await runCli(['plan', recipe, '-p', profile, '--format', 'json'], env);
        assert.equal((JSON.parse(again.stdout) as PlanDocument).steps[0]!.status, 'ok');

        // Another profile whose whole search range is taken: one line naming what to do, exit 2.
        write(2, `${profile}-b`);
        const full = await runCli(['plan', recipe, '-p', `${profile}-b`, '--format', 'json'], env);
        assert.equal(full.code, 2, full.stdout);
        const failed = (JSON.parse(full.stdout) as PlanDocument).steps[0] as { status: string; error?: string };
        assert.equal(failed.status, 'failed');
        assert.equal(failed.error?.split('\n').length, 1, failed.error);
        assert.match(
          failed.error ?? '',
          /^no free private \/24 for network .*: 192\.168\.200\.0\/24 … 192\.168\.201\.0\/24 \(2 tried\) overlap .*--subnet.*\[NETWORK_NO_FREE_SUBNET\]$/,
        );
      } finally {
        for (const fn of teardown.reverse()) await fn();
      }
    });
  });
}

// A container host that the recipe's own first step creates, against a private dockerd: the plan
// shows it as created by that step and creates nothing; the run opens the host only after the step
// made the container; a second plan connects to the now existing container, and with the recipe's
// own probe allowed (--allow-recipe-probes) finds nothing to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { PlanDocument } from '../../core/plan.ts';
import { runCli } from '../helpers/cli.ts';
import { missing, tempDir } from '../helpers/env.ts';
import { DOCKER_INSTALL, startDockerd } from '../helpers/dockerd.ts';
import { execIn, MMDEBSTRAP_INSTALL, nodeImage } from '../helpers/node-image.ts';

const skip = missing(['dockerd', 'containerd', 'runc', 'docker'], DOCKER_INSTALL) ?? missing(['mmdebstrap'], MMDEBSTRAP_INSTALL);

test('a container host created by an earlier step: planned fresh, opened after the step, then found', { skip, timeout: 300_000 }, async (t) => {
  const socket = await startDockerd(t);
  const image = await nodeImage(socket);
  const docker = new Docker({ socketPath: socket });
  const name = `ks-created-${randomBytes(3).toString('hex')}`;
  t.after(async () => {
    await docker.getContainer(name).remove({ force: true }).catch(() => {});
  });
  const dir = tempDir(t);
  const file = join(dir, 'created.yaml');
  const cli = ['docker', '-H', `unix://${socket}`];
  writeFileSync(
    file,
    `name: created-container
hosts:
  node:
    createdBy: create
    docker: { container: ${name}, socket: "unix://${socket}" }
steps:
  - id: create
    task: run-command
    with:
      argv: [${[...cli, 'run', '-d', '--name', name, '--network', 'none', image, 'sleep', 'infinity'].join(', ')}]
      unless: [${[...cli, 'inspect', '--format', '{{.State.Running}}', name].map((w) => JSON.stringify(w)).join(', ')}]
  - id: conf
    task: write-file
    host: node
    needs: [create]
    with: { path: /etc/created/app.conf, content: "made after the container\\n", mode: "0640" }
`,
  );
  const env = { KUBESTRAP_HOME: join(dir, 'home') };
  const exists = async () => docker.getContainer(name).inspect().then(() => true, () => false);

  const planned = await runCli(['plan', file, '--format', 'json'], { env, cwd: dir });
  assert.equal(planned.code, 0, planned.stderr);
  const p = JSON.parse(planned.stdout) as PlanDocument;
  assert.deepEqual(p.hosts.find((h) => h.name === `docker:${name}`)?.createdBy, ['create']);
  assert.deepEqual(p.steps.map((s) => [s.id, s.host, s.status]), [['create', 'local', 'change'], ['conf', `docker:${name}`, 'change']]);
  assert.equal(await exists(), false, 'planning created nothing');

  const ran = await runCli(['run', file, '--yes'], { env, cwd: dir });
  assert.equal(ran.code, 0, ran.stdout + ran.stderr);
  const cat = await execIn(docker, name, ['sh', '-c', 'cat /etc/created/app.conf; stat -c %a /etc/created/app.conf']);
  assert.equal(cat.stdout, 'made after the container\n640\n');

  // The step's `unless:` comes from the recipe: a plain plan does not run it. It lists it as not
  // run, says how to allow it, and, since the run decides whether the step creates the container,
  // plans the container's steps as on the host that step creates (it does not connect to it).
  const audit = await runCli(['plan', file, '--format', 'json'], { env, cwd: dir });
  assert.equal(audit.code, 0, audit.stderr);
  const a = JSON.parse(audit.stdout) as PlanDocument;
  assert.deepEqual(a.steps.map((s) => [s.id, s.status]), [['create', 'change'], ['conf', 'change']]);
  const unless = a.steps[0]!.effects.find((e) => e.kind === 'probe');
  assert.ok(unless?.kind === 'probe' && unless.notRun && unless.command.includes(' inspect --format '), JSON.stringify(unless));
  assert.ok(a.steps[0]!.notes?.some((n) => n.fix?.includes('--allow-recipe-probes')), JSON.stringify(a.steps[0]!.notes));
  assert.deepEqual(a.hosts.find((h) => h.name === `docker:${name}`)?.createdBy, ['create']);

  // Allowed to run it, the plan asks docker and finds nothing to do.
  const again = await runCli(['plan', file, '--format', 'json', '--allow-recipe-probes'], { env, cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  const q = JSON.parse(again.stdout) as PlanDocument;
  assert.deepEqual(q.steps.map((s) => [s.id, s.status]), [['create', 'ok'], ['conf', 'ok']]);
  const host = q.hosts.find((h) => h.name === `docker:${name}`);
  assert.equal(host?.createdBy, undefined, 'an existing container is an ordinary host');
  assert.equal(host?.uid, 0);
});

// Hosts that a step of the plan creates (`createdBy:` in a recipe's hosts, or an address that is an
// earlier step's output): the plan shows them as created by that step and plans their steps as on
// a fresh machine, without ever connecting; every step on one must need its creator.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDocument } from '../../core/plan.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/env.ts';

function recipe(dir: string, host: string, needs = '[create]'): string {
  const file = join(dir, 'r.yaml');
  writeFileSync(
    file,
    `name: created
hosts:
${host}
steps:
  - id: create
    task: run-command
    with: { argv: [touch, ${dir}/machine] }
  - id: conf
    task: write-file
    host: node
    needs: ${needs}
    with: { path: /etc/created.conf, content: "hello\\n", sudo: true }
`,
  );
  return file;
}

async function plan(t: { after(fn: () => void): void }, host: string, format = 'json', needs?: string) {
  const dir = tempDir(t);
  const r = await runCli(['plan', recipe(dir, host, needs), '--format', format], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
  return { ...r, dir };
}

describe('a host that a step creates', () => {
  // Neither host exists: connecting to either would fail the plan (no such container; nothing at
  // 192.0.2.1, a documentation address).
  const hosts = {
    docker: [
      'docker:kubestrap-never-created',
      '  node:\n    createdBy: create\n    docker: { container: kubestrap-never-created, socket: "unix:///nonexistent/docker.sock" }',
    ],
    ssh: ['ssh:root@192.0.2.1:22', '  node:\n    createdBy: create\n    ssh: { address: 192.0.2.1, user: root }'],
  } as const;
  for (const [kind, [name, spec]] of Object.entries(hosts)) {
    it(`${kind}: is planned as a fresh machine, created by the step, never connected to`, async (t) => {
      const r = await plan(t, spec);
      assert.equal(r.code, 0, r.stderr);
      const p = JSON.parse(r.stdout) as PlanDocument;
      assert.deepEqual(p.hosts.find((h) => h.name === name), { name, kind, user: 'root', uid: 0, shellPrefix: [], createdBy: ['create'] });
      const conf = p.steps.find((s) => s.id === 'conf')!;
      assert.equal(conf.host, name);
      assert.equal(conf.status, 'change');
      assert.deepEqual(conf.effects.map((e) => [e.kind, e.host, e.kind === 'write' && e.exists]), [['write', name, false]]);
      const text = await plan(t, spec, 'text');
      assert.match(text.stdout, new RegExp(`${name.replace(/[.]/g, '\\.')} as root \\(root\\) \\(created by step create\\)`));
      assert.match(text.stdout, /~ change conf \(write-file on .*, created by step create\)/);
      // The script cannot reach a machine that does not exist yet: it stops there instead of running the step here.
      const sh = await plan(t, spec, 'sh');
      assert.match(sh.stdout, /withheld '.* is created by step create: its steps run through kubestrap apply'/);
      assert.doesNotMatch(sh.stdout, /created\.conf'? <</);
    });
  }

  it('refuses a step on the host that does not need its creator, at the step, with the fix', async (t) => {
    const r = await plan(t, hosts.docker[1], 'json', '[]');
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /r\.yaml:\d+:\d+: step 'conf' runs on host 'node', which step 'create' creates, but does not need it \(add create to its needs\) \[NEEDS_MISSING\]/,
    );
  });

  it('refuses createdBy naming no step of the recipe', async (t) => {
    const r = await plan(t, '  node:\n    createdBy: craete\n    docker: { container: x }');
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /r\.yaml:4:16: host 'node' is created by 'craete', which is not a step of this recipe \(did you mean 'create'\?\) \[RECIPE_INVALID\]/,
    );
  });
  it('the whole kubeadm graph plans on a machine a step creates: nothing read from it, nothing overwritten', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'cluster.yaml');
    writeFileSync(
      file,
      `name: created-cluster
options: [cluster]
hosts:
  node:
    createdBy: machine
    docker: { container: kubestrap-never-created, socket: "unix:///nonexistent/docker.sock" }
steps:
  - id: machine
    task: run-command
    with: { argv: [touch, ${dir}/machine] }
  - id: node
    recipe: driver-none
    needs: [machine]
    forward: [cluster]
    with: { host: node, driver: docker }
`,
    );
    const r = await runCli(['plan', file, '--format', 'json', '--set', 'kubernetesVersion=v1.33.1'], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as PlanDocument;
    assert.deepEqual(p.steps.filter((s) => s.status !== 'change' && s.status !== 'ok').map((s) => `${s.id}: ${s.error}`), []);
    const preflight = p.steps.find((s) => s.id === 'node.preflight')!;
    assert.ok(preflight.notes?.some((n) => /does not exist yet \(step machine creates it\)/.test(n.message)), JSON.stringify(preflight.notes));
    const node = p.steps.filter((s) => s.host === 'docker:kubestrap-never-created').flatMap((s) => s.effects);
    assert.deepEqual(
      node.filter((e) => e.kind === 'write' && e.exists).map((e) => e.kind === 'write' && e.path),
      [],
      'a fresh machine has no files to overwrite',
    );
    // The version forwarded once from the including recipe reaches the included steps.
    assert.ok(node.some((e) => e.kind === 'write' && e.path === '/var/lib/kubestrap/binaries/v1.33.1/kubelet'));
  });
});

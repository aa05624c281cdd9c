// Recipes take the command line's option sets (`options: [cluster]`) and pass them on to an included
// recipe once (`forward: [cluster]`): the same defaults, parsers and reasons as the flags.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanDocument } from '../../core/plan.ts';
import { clusterOptions } from '../../options/cluster.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/env.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../../tasks/k8s/versions.ts';

async function plan(t: { after(fn: () => void): void }, files: Record<string, string>, args: string[] = []) {
  const dir = tempDir(t);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const r = await runCli(['plan', join(dir, 'top.yaml'), '--format', 'json', ...args], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
  return { ...r, dir };
}

const inner = `name: inner
options: [cluster]
params:
  out: { default: "" }
steps:
  - id: write
    task: write-file
    with: { path: "\${{ params.out }}", content: "\${{ params.kubernetesVersion }} \${{ params.apiserverPort }}\\n" }
`;

describe('option sets in recipes', () => {
  it('gives a recipe every cluster option with its default, and forwards the values to an include once', async (t) => {
    const top = (dir: string) =>
      `name: top
options: [cluster]
steps:
  - id: inner
    recipe: ./inner.yaml
    forward: [cluster]
    with: { out: ${dir}/out.txt }
`;
    const dir = tempDir(t);
    writeFileSync(join(dir, 'inner.yaml'), inner);
    writeFileSync(join(dir, 'top.yaml'), top(dir));
    const r = await runCli(['plan', join(dir, 'top.yaml'), '--format', 'json', '--set', 'apiserverPort=9443'], {
      env: { KUBESTRAP_HOME: join(dir, 'home') },
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as PlanDocument;
    assert.deepEqual(Object.keys(p.params), clusterOptions.map((o) => o.key));
    assert.equal(p.params.apiserverPort, 9443);
    const w = p.steps[0]!.effects.find((e) => e.kind === 'write');
    assert.equal(w?.kind === 'write' && w.content, `${DEFAULT_KUBERNETES_VERSION} 9443\n`);
  });

  it("checks --set values with the option's own parser and reason", async (t) => {
    const r = await plan(t, { 'top.yaml': inner }, ['--set', 'kubernetesVersion=v1.18.0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /top\.yaml: --set kubernetesVersion: Kubernetes v1\.18 is not supported .*\[K8S_VERSION_UNSUPPORTED\]/);
    const port = await plan(t, { 'top.yaml': inner }, ['--set', 'apiserverPort=70000']);
    assert.match(port.stderr, /--set apiserverPort: 70000 is not a port number .*\[PORT_INVALID\]/);
  });

  it('refuses an unknown option set, a parameter that is also an option, and forward without the set', async (t) => {
    const unknown = await plan(t, { 'top.yaml': 'name: top\noptions: [clustr]\nsteps:\n  - { id: a, task: run-command, with: { argv: ["true"] } }\n' });
    assert.match(unknown.stderr, /top\.yaml:2:11: unknown option set 'clustr' \(did you mean 'cluster'\?\) \[RECIPE_INVALID\]/);
    const twice = await plan(t, {
      'top.yaml': 'name: top\noptions: [cluster]\nparams:\n  apiserverPort: 1\nsteps:\n  - { id: a, task: run-command, with: { argv: ["true"] } }\n',
    });
    assert.match(twice.stderr, /top\.yaml:4:3: parameter 'apiserverPort' is also an option of 'cluster' \(remove it from params:\) \[RECIPE_INVALID\]/);
    const forward = await plan(t, { 'inner.yaml': inner, 'top.yaml': 'name: top\nsteps:\n  - id: i\n    recipe: ./inner.yaml\n    forward: [cluster]\n' });
    assert.match(
      forward.stderr,
      /top\.yaml:5:14: step 'i': forward: cluster, but this recipe does not take the 'cluster' options \(add options: \[cluster\] to the recipe\) \[RECIPE_INVALID\]/,
    );
  });
});

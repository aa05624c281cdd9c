// The plan document's digest: stable for the same plan, independent of key order, and any edit
// to a saved plan is caught by verifyPlan.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonical, digestOf, driftBetween, planDigest, type PlanDocument, verifyPlan } from '../../core/plan.ts';
import { RefusedError, UserError } from '../../core/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/env.ts';

async function planOf(t: { after(fn: () => void): void }, extra = ''): Promise<{ plan: PlanDocument; dir: string }> {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'r.yaml'),
    `name: digest
params:
  text: hello
steps:
  - id: one
    task: write-file
    with: { path: ${dir}/out/one.txt, content: "\${{ params.text }}\\n", mode: "0600" }
  - id: two
    task: run-command
    with: { argv: [touch, ${dir}/out/two], creates: ${dir}/out/two }
    needs: [one]
${extra}`,
  );
  const r = await runCli(['plan', join(dir, 'r.yaml'), '--format', 'json'], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return { plan: JSON.parse(r.stdout) as PlanDocument, dir };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('plan digest', () => {
  it('is the same for the same recipe on the same machine', async (t) => {
    const { plan: a, dir } = await planOf(t);
    const r = await runCli(['plan', join(dir, 'r.yaml'), '--format', 'json'], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    const b = JSON.parse(r.stdout) as PlanDocument;
    assert.equal(a.digest, b.digest);
    assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
    const { digest, ...body } = a;
    assert.equal(planDigest(body), digest);
  });

  it("ignores incidental readings: notes that are not blockers, an erased directory's size", async (t) => {
    const { plan } = await planOf(t);
    const { digest, ...body } = clone(plan);
    body.steps[0]!.notes = [{ level: 'info', message: '1234 MiB free' }];
    (body.steps[0]!.effects as unknown[]).push({ kind: 'remove', host: 'local', path: '/x', sudo: false, exists: true, bytes: 1 });
    const other = clone(body);
    other.steps[0]!.notes = [{ level: 'info', message: '1240 MiB free' }];
    (other.steps[0]!.effects[other.steps[0]!.effects.length - 1] as { bytes: number }).bytes = 2;
    assert.equal(planDigest(body), planDigest(other));
    assert.notEqual(planDigest(body), digest);
    other.steps[0]!.notes = [{ level: 'error', message: 'port taken', blocks: 'PORTS_IN_USE' }];
    assert.notEqual(planDigest(body), planDigest(other), 'a blocker is a fact the run depends on');
  });

  it('differs when a parameter differs', async (t) => {
    const { plan: a, dir } = await planOf(t);
    const r = await runCli(['plan', join(dir, 'r.yaml'), '--format', 'json', '--set', 'text=other'], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.notEqual((JSON.parse(r.stdout) as PlanDocument).digest, a.digest);
  });

  it('does not depend on key order', () => {
    assert.equal(canonical({ b: 1, a: [{ y: 2, x: 1 }] }), canonical({ a: [{ x: 1, y: 2 }], b: 1 }));
    assert.equal(digestOf({ b: 1, a: 2 }), digestOf({ a: 2, b: 1 }));
    assert.notEqual(digestOf({ a: [1, 2] }), digestOf({ a: [2, 1] }));
    // undefined fields are absent, as in JSON.
    assert.equal(digestOf({ a: 1, b: undefined }), digestOf({ a: 1 }));
  });
});

describe('verifyPlan', () => {
  it('accepts an untouched plan, even re-serialized with other key order and spacing', async (t) => {
    const { plan } = await planOf(t);
    const reordered = Object.fromEntries(Object.entries(clone(plan)).reverse());
    assert.equal(verifyPlan(reordered, 'p.json').digest, plan.digest);
  });

  it('refuses every kind of edit with PLAN_EDITED (exit 3)', async (t) => {
    const { plan } = await planOf(t);
    const edits: [string, (p: PlanDocument) => void][] = [
      ['a command', (p) => {
        (p.steps[1]!.effects.find((e) => e.kind === 'exec') as { command: string }).command = 'touch /tmp/evil';
      }],
      ['sudo turned on', (p) => {
        (p.steps[1]!.effects.find((e) => e.kind === 'exec') as { sudo: boolean }).sudo = true;
      }],
      ['file content', (p) => {
        (p.steps[0]!.effects.find((e) => e.kind === 'write') as { content: string }).content = 'evil\n';
      }],
      ['file mode', (p) => {
        (p.steps[0]!.effects.find((e) => e.kind === 'write') as { mode: string }).mode = '4777';
      }],
      ['a parameter', (p) => {
        p.params.text = 'evil';
      }],
      ['the profile', (p) => {
        p.profile = 'other';
      }],
      ['the recipe file', (p) => {
        p.recipeFile = '/tmp/evil.yaml';
      }],
      ['a step removed', (p) => {
        p.steps.pop();
      }],
      ['the summary', (p) => {
        p.summary.sudoCommands = 0;
        p.summary.commands = 99;
      }],
      ['an extra field', (p) => {
        (p as unknown as Record<string, unknown>).extra = 1;
      }],
    ];
    for (const [what, edit] of edits) {
      const p = clone(plan);
      edit(p);
      assert.throws(() => verifyPlan(p, 'p.json'), (e: unknown) => e instanceof RefusedError && e.reason === 'PLAN_EDITED' && e.exitCode === 3, what);
    }
  });

  it('a digest recomputed by hand is still a digest of the edited body — so apply re-plans and compares', async (t) => {
    // verifyPlan only proves the file is whole; driftBetween compares it with a fresh plan.
    const { plan } = await planOf(t);
    const p = clone(plan);
    (p.steps[1]!.effects.find((e) => e.kind === 'exec') as { command: string }).command = 'touch /tmp/evil';
    const { digest: _, ...body } = p;
    p.digest = planDigest(body);
    assert.doesNotThrow(() => verifyPlan(p, 'p.json'));
    assert.match(driftBetween(p, plan)!, /step 'two' would now run: touch .* instead of run: touch \/tmp\/evil/);
  });

  it('rejects what is not a plan as bad input (PLAN_INVALID, exit 2)', () => {
    for (const doc of [null, 3, 'x', [], { version: 2, steps: [], recipeFile: 'r', digest: 'd' }, { version: 1 }]) {
      assert.throws(
        () => verifyPlan(doc, 'p.json'),
        (e: unknown) => e instanceof UserError && e.reason === 'PLAN_INVALID' && e.exitCode === 2,
        JSON.stringify(doc),
      );
    }
  });
});

describe('driftBetween', () => {
  it('is silent for the same plan and names the first difference otherwise', async (t) => {
    const { plan } = await planOf(t);
    assert.equal(driftBetween(plan, clone(plan)), undefined);
    const changed = clone(plan);
    changed.steps[0]!.status = 'ok';
    changed.digest = 'sha256:other';
    assert.equal(driftBetween(plan, changed), "step 'one' was 'change' and is now 'ok'");
    const blocked = clone(plan);
    blocked.steps[1]!.notes = [{ level: 'error', message: 'port taken', blocks: 'PORTS_IN_USE' }];
    blocked.digest = 'sha256:other';
    assert.match(driftBetween(plan, blocked)!, /what blocks step 'two' on local has changed/);
  });
});

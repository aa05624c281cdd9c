// Audit, then apply: a plan of this unchanged machine has the same digest every time and under Node
// and Deno, so `apply` of a fresh plan of a shipped recipe goes through to what the machine allows
// (here: no systemd, so `start` stops at Blocked), never PLAN_DRIFTED.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli.ts';
import { repoRoot, tempDir } from './helpers/env.ts';
import type { PlanDocument } from '../core/plan.ts';

// The shipped recipes that plan against this machine itself (the ssh ones need a machine to reach:
// test/e2e/ssh-driver.test.ts plans them against a real sshd).
const COMMANDS: [string, string[]][] = [
  ['start (driver-none)', ['start', '--driver', 'none', '--dry-run']],
  ['delete (delete-none)', ['delete', '--driver', 'none', '--dry-run']],
  ['doctor', ['plan', 'doctor']],
  ['driver-none', ['plan', 'driver-none']],
  ['delete-none', ['plan', 'delete-none']],
];

const deno = join(repoRoot, 'node_modules/.bin/deno');

describe('a plan of an unchanged machine has one digest', () => {
  for (const [name, argv] of COMMANDS) {
    it(`${name}: three plans in a row, and one under ${'Deno' in globalThis ? 'Node' : 'Deno'}, have the same digest`, async (t) => {
      const dir = tempDir(t, 'kubestrap-digest-');
      const env = { KUBESTRAP_HOME: join(dir, 'home') };
      const digests: string[] = [];
      for (let i = 0; i < 3; i++) {
        const out = join(dir, `p${i}.json`);
        const r = await runCli([...argv, '--out', out, '--format', 'json'], { env, cwd: dir });
        assert.ok(existsSync(out), r.stderr);
        digests.push((JSON.parse(readFileSync(out, 'utf8')) as PlanDocument).digest);
      }
      // The other runtime, as a separate process.
      const other = 'Deno' in globalThis
        ? spawnSync('node', ['--import', 'tsx', join(repoRoot, 'cli.ts'), ...argv, '--out', join(dir, 'other.json')], {
          cwd: repoRoot,
          env: { ...process.env, ...env, NODE_OPTIONS: '' },
          encoding: 'utf8',
        })
        : existsSync(deno)
        ? spawnSync(deno, ['run', '-A', join(repoRoot, 'cli.ts'), ...argv, '--out', join(dir, 'other.json')], {
          cwd: repoRoot,
          env: { ...process.env, ...env },
          encoding: 'utf8',
        })
        : undefined;
      if (other) {
        assert.ok(existsSync(join(dir, 'other.json')), other.stderr);
        digests.push((JSON.parse(readFileSync(join(dir, 'other.json'), 'utf8')) as PlanDocument).digest);
      } else if (process.env.CI === 'true') assert.fail('deno is not installed (npm install -D deno)');
      assert.equal(new Set(digests).size, 1, `digests: ${digests.join(' ')}`);
    });
  }

  it('start --dry-run --out, then apply: refused as Blocked (no systemd here), not as drifted', async (t) => {
    const dir = tempDir(t, 'kubestrap-digest-');
    const env = { KUBESTRAP_HOME: join(dir, 'home') };
    const p = await runCli(['start', '--driver', 'none', '--dry-run', '--out', 'plan.json'], { env, cwd: dir });
    assert.ok(existsSync(join(dir, 'plan.json')), p.stderr);
    const blocked = (JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as PlanDocument).steps.some((s) => (s.notes ?? []).some((n) => n.blocks));
    const a = await runCli(['apply', 'plan.json', '--yes'], { env, cwd: dir });
    assert.doesNotMatch(a.stderr, /PLAN_DRIFTED/);
    if (blocked) {
      assert.equal(a.code, 3, a.stderr);
      assert.match(a.stderr, /cannot run here: .* \[PLAN_BLOCKED\]/);
    }
  });

  it('doctor: plan --out, then apply runs the same read-only plan', async (t) => {
    const dir = tempDir(t, 'kubestrap-digest-');
    const env = { KUBESTRAP_HOME: join(dir, 'home') };
    await runCli(['plan', 'doctor', '--out', 'plan.json'], { env, cwd: dir });
    const a = await runCli(['apply', 'plan.json', '--yes'], { env, cwd: dir });
    assert.doesNotMatch(a.stderr, /PLAN_DRIFTED|PLAN_EDITED/);
    assert.ok(a.code === 0 || a.code === 1, a.stderr);
  });
});

// The effect table agrees with itself: what changes nothing needs no root and runs no command, so
// the summary and the confirmation count only what will run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commandsFor, EFFECT_KINDS, isMutating, needsRoot } from '../../core/effect-kinds.ts';
import type { Effect } from '../../core/effects.ts';
import { type PlanStep, summarize } from '../../core/plan.ts';
import { renderPlanText } from '../../core/render/plan-text.ts';
import { styleFor } from '../../core/render/style.ts';
import { buildPlan } from '../../core/plan.ts';

const effects: Effect[] = [
  { kind: 'exec', host: 'local', command: 'true', sudo: true },
  { kind: 'probe', host: 'local', command: 'id -u', readOnly: true },
  { kind: 'read', host: 'local', path: '/etc/os-release', readOnly: true },
  { kind: 'write', host: 'local', path: '/etc/a', mode: '0644', sudo: true, exists: false, sha256: 'x', bytes: 1 },
  { kind: 'write', host: 'local', path: '/etc/b', mode: '0644', sudo: true, exists: true, unchanged: true, sha256: 'x', bytes: 1 },
  { kind: 'remove', host: 'local', path: '/var/absent', sudo: true, exists: false },
  { kind: 'remove', host: 'local', path: '/var/present', sudo: true, exists: true, bytes: 10 },
  { kind: 'service', host: 'local', name: 'kubelet', action: 'restart', sudo: true },
  { kind: 'package', host: 'local', names: ['runc'], action: 'install', manager: 'apt', sudo: true },
  { kind: 'listen', host: 'local', port: 10250, protocol: 'tcp', address: '0.0.0.0', component: 'kubelet' },
  { kind: 'download', host: 'local', url: 'https://example.org/x', path: '/c/x', cached: true },
];

describe('effect kinds', () => {
  it('has an entry for every kind in use', () => {
    assert.deepEqual(Object.keys(EFFECT_KINDS).sort(), [...new Set(effects.map((e) => e.kind))].sort());
  });

  it('an effect needs root only when it changes something, and then it has commands', () => {
    for (const e of effects) {
      if (needsRoot(e)) assert.ok(isMutating(e) && commandsFor(e).length > 0, JSON.stringify(e));
      if (!isMutating(e)) assert.equal(commandsFor(e).length, 0, JSON.stringify(e));
    }
  });

  it('counts an absent path erased with sudo as nothing to run (not 0 commands, 1 as root)', () => {
    const step = (e: Effect[]): PlanStep[] => [{ id: 's', task: 't', host: 'local', status: 'change', effects: e }];
    const absent = summarize(step([effects[5]!]));
    assert.deepEqual([absent.commands, absent.sudoCommands, absent.filesRemoved], [0, 0, 0]);
    const present = summarize(step([effects[6]!]));
    assert.deepEqual([present.commands, present.sudoCommands, present.filesRemoved], [1, 1, 1]);
    const all = summarize(step(effects));
    assert.deepEqual([all.commands, all.sudoCommands], [5, 5]);
  });

  it('marks root changes #, commands $ and declarations * in the text plan', () => {
    const result = {
      steps: [{ id: 's', task: 't', host: 'local', status: 'change' as const, effects, notes: [], observed: '', ms: 0 }],
      status: 'ok' as const,
      ms: 0,
    };
    const plan = buildPlan({ recipe: 'r', recipeFile: '/r.yaml', profile: 'p', params: {}, hosts: [], result });
    const lines = renderPlanText(plan, styleFor(false, { NO_COLOR: '1' })).split('\n');
    assert.ok(lines.includes('    * kubelet listens on 0.0.0.0:10250/tcp'));
    assert.ok(lines.includes('    $ erase /var/absent (absent: nothing to do)'));
    assert.ok(lines.includes('    # erase /var/present (10 B, as root)'));
    assert.ok(lines.includes('Needs root (5)'));
  });
});

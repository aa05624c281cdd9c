// The graph from recipes on disk: order, includes, when:, cycles. Recipes are real files so that
// errors carry real file:line:column positions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGraph, type Graph } from '../../core/graph.ts';
import { TaskRegistry } from '../../core/registry.ts';
import { defineTask } from '../../core/task.ts';
import { UserError } from '../../core/errors.ts';
import { tempDir } from '../helpers/env.ts';

const noop = defineTask({
  name: 'noop',
  description: 'does nothing',
  params: { label: { type: 'string', default: '' }, count: { type: 'number', default: 0 } },
  run() {},
});

function registry(): TaskRegistry {
  const r = new TaskRegistry();
  r.add(noop as never, 'test');
  return r;
}

/** Writes recipe files into a temp dir; returns the path of the first. */
function recipes(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = tempDir(t);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return join(dir, Object.keys(files)[0]!);
}

async function graphOf(file: string, overrides: Record<string, unknown> = {}): Promise<Graph> {
  return buildGraph({ file, overrides, profile: 'p1', env: { WHO: 'tester' }, registry: registry(), recipeDirs: [] });
}

async function failure(file: string, overrides: Record<string, unknown> = {}): Promise<UserError> {
  try {
    await graphOf(file, overrides);
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${e}`);
    return e;
  }
  assert.fail('expected the graph to be rejected');
}

const ids = (g: Graph) => g.steps.map((s) => s.id);
const needsOf = (g: Graph, id: string) => g.steps.find((s) => s.id === id)!.needs;

describe('graph order', () => {
  it('is topological and takes ready steps in recipe order', async (t) => {
    const file = recipes(t, {
      'r.yaml': `name: order
steps:
  - { id: d, task: noop, needs: [c] }
  - { id: a, task: noop }
  - { id: c, task: noop, needs: [a] }
  - { id: b, task: noop }
  - { id: e, task: noop, needs: [b, d] }
`,
    });
    const g = await graphOf(file);
    // a and b are ready first (a is earlier); after a, c is ready and earlier than b; then d; then b; then e.
    assert.deepEqual(ids(g), ['a', 'c', 'd', 'b', 'e']);
    for (const s of g.steps) for (const n of s.needs) assert.ok(ids(g).indexOf(n) < ids(g).indexOf(s.id), `${n} before ${s.id}`);
    // Stable: the same recipe always gives the same order.
    for (let i = 0; i < 5; i++) assert.deepEqual(ids(await graphOf(file)), ids(g));
  });

  it('keeps independent steps in the order they are written', async (t) => {
    const file = recipes(t, { 'r.yaml': `name: flat\nsteps:\n${['z', 'y', 'x', 'w'].map((id) => `  - { id: ${id}, task: noop }`).join('\n')}\n` });
    assert.deepEqual(ids(await graphOf(file)), ['z', 'y', 'x', 'w']);
  });
});

describe('includes', () => {
  it('prefix ids with the including step and wire needs through the include', async (t) => {
    const file = recipes(t, {
      'main.yaml': `name: main
params:
  size: 2
steps:
  - { id: prep, task: noop }
  - id: net
    recipe: ./net.yaml
    with: { cidr: "10.0.\${{ params.size }}.0/24" }
    needs: [prep]
  - { id: after, task: noop, needs: [net] }
`,
      'net.yaml': `name: net
params:
  cidr: 192.168.0.0/24
steps:
  - { id: bridge, task: noop, with: { label: "\${{ params.cidr }}" } }
  - { id: dhcp, task: noop, needs: [bridge] }
  - { id: dns, task: noop, needs: [bridge] }
`,
    });
    const g = await graphOf(file);
    assert.deepEqual(ids(g), ['prep', 'net.bridge', 'net.dhcp', 'net.dns', 'after']);
    // The include's root steps need what the including step needs...
    assert.deepEqual(needsOf(g, 'net.bridge'), ['prep']);
    assert.deepEqual(needsOf(g, 'net.dhcp'), ['net.bridge']);
    // ...and a step that needs the include needs all of its sinks.
    assert.deepEqual(needsOf(g, 'after'), ['net.dhcp', 'net.dns']);
    // Parameters pass through with: and templates are evaluated in the included recipe's scope.
    assert.equal(g.steps.find((s) => s.id === 'net.bridge')!.with.label, '10.0.2.0/24');
  });

  it('nest: ids get one prefix per level', async (t) => {
    const file = recipes(t, {
      'a.yaml': 'name: a\nsteps:\n  - { id: one, recipe: ./b.yaml }\n  - { id: last, task: noop, needs: [one] }\n',
      'b.yaml': 'name: b\nsteps:\n  - { id: two, recipe: ./c.yaml }\n',
      'c.yaml': 'name: c\nsteps:\n  - { id: leaf, task: noop }\n',
    });
    const g = await graphOf(file);
    assert.deepEqual(ids(g), ['one.two.leaf', 'last']);
    assert.deepEqual(needsOf(g, 'last'), ['one.two.leaf']);
  });

  it('step outputs inside an include are renamed to the prefixed id', async (t) => {
    const file = recipes(t, {
      'a.yaml': 'name: a\nsteps:\n  - { id: inc, recipe: ./b.yaml }\n',
      'b.yaml': 'name: b\nsteps:\n  - { id: x, task: noop }\n  - { id: y, task: noop, needs: [x], with: { label: "${{ steps.x.outputs.name }}" } }\n',
    });
    const g = await graphOf(file);
    assert.equal(g.steps.find((s) => s.id === 'inc.y')!.with.label, '${{ steps.inc.x.outputs.name }}');
  });

  it("an include's parameter can be an earlier step's output: it stays a reference, data stays data", async (t) => {
    const file = recipes(t, {
      'a.yaml': `name: a
steps:
  - { id: vm, task: noop }
  - id: node
    recipe: ./b.yaml
    needs: [vm]
    with: { address: "\${{ steps.vm.outputs.address }}", note: "\${{ env.TRICK }}" }
`,
      'b.yaml': `name: b
params:
  address: ""
  note: ""
steps:
  - { id: check, task: noop, with: { label: "\${{ params.address }}" } }
  - { id: echo, task: noop, with: { label: "\${{ params.note }}" } }
`,
    });
    const g = await buildGraph({
      file,
      overrides: {},
      profile: 'p1',
      env: { TRICK: '${{ steps.vm.outputs.secret }}' },
      registry: registry(),
      recipeDirs: [],
    });
    assert.equal(g.steps.find((s) => s.id === 'node.check')!.with.label, '${{ steps.vm.outputs.address }}');
    // An environment variable that looks like a reference is never evaluated as one.
    assert.notEqual(g.steps.find((s) => s.id === 'node.echo')!.with.label, '${{ steps.vm.outputs.secret }}');
  });

  it("when: cannot test a parameter that holds a step's output (known only in the run)", async (t) => {
    const file = recipes(t, {
      'a.yaml': 'name: a\nsteps:\n  - { id: vm, task: noop }\n  - { id: node, recipe: ./b.yaml, needs: [vm], with: { flag: "${{ steps.vm.outputs.up }}" } }\n',
      'b.yaml': 'name: b\nparams:\n  flag: ""\nsteps:\n  - { id: x, task: noop, when: "${{ params.flag }}" }\n',
    });
    const e = await failure(file);
    assert.equal(e.reason, 'TEMPLATE_INVALID');
    assert.match(e.message, /step 'x': when: uses a parameter that holds a step's output/);
    assert.match(e.where!.file, /b\.yaml$/);
  });

  it('an include cycle is reported with the whole chain', async (t) => {
    const file = recipes(t, {
      'a.yaml': 'name: a\nsteps:\n  - { id: to-b, recipe: ./b.yaml }\n',
      'b.yaml': 'name: b\nsteps:\n  - { id: to-c, recipe: ./c.yaml }\n',
      'c.yaml': 'name: c\nsteps:\n  - { id: to-a, recipe: ./a.yaml }\n',
    });
    const e = await failure(file);
    assert.equal(e.reason, 'RECIPE_CYCLE');
    assert.match(e.message, /a\.yaml → b\.yaml → c\.yaml → a\.yaml/);
    assert.match(e.where!.file, /c\.yaml$/);
    assert.equal(e.where!.line, 3);
  });

  it('a recipe including itself is a cycle', async (t) => {
    const file = recipes(t, { 'self.yaml': 'name: self\nsteps:\n  - { id: again, recipe: ./self.yaml }\n' });
    const e = await failure(file);
    assert.equal(e.reason, 'RECIPE_CYCLE');
    assert.match(e.message, /self\.yaml → self\.yaml/);
  });
});

describe('when:', () => {
  const text = `name: cond
params:
  gpu: false
steps:
  - { id: a, task: noop }
  - { id: gpu, task: noop, needs: [a], when: "\${{ params.gpu }}" }
  - { id: b, task: noop }
  - { id: c, task: noop, needs: [gpu] }
  - { id: d, task: noop, needs: [c], when: "\${{ env.WHO }}" }
  - { id: e, task: noop, when: "\${{ env.NOT_SET }}" }
`;

  it('drops false steps; their dependents inherit their needs; order is kept', async (t) => {
    const file = recipes(t, { 'r.yaml': text });
    const g = await graphOf(file);
    assert.deepEqual(ids(g), ['a', 'b', 'c', 'd']);
    assert.deepEqual(needsOf(g, 'c'), ['a']);
  });

  it('keeps a step whose condition is true (a --set string is coerced first)', async (t) => {
    const file = recipes(t, { 'r.yaml': text });
    const g = await graphOf(file, { gpu: 'true' });
    assert.deepEqual(ids(g), ['a', 'gpu', 'b', 'c', 'd']);
    assert.deepEqual(needsOf(g, 'c'), ['gpu']);
  });
});

describe('cycles', () => {
  it('report the whole cycle, in needs order, at the first step of it', async (t) => {
    const file = recipes(t, {
      'r.yaml': `name: cyc
steps:
  - { id: start, task: noop }
  - { id: a, task: noop, needs: [b] }
  - { id: b, task: noop, needs: [c] }
  - { id: c, task: noop, needs: [a, start] }
`,
    });
    const e = await failure(file);
    assert.equal(e.reason, 'GRAPH_CYCLE');
    assert.match(e.message, /steps form a cycle: a → b → c → a$/);
    assert.equal(e.where!.line, 4);
  });

  it('a step needing itself is a cycle of one', async (t) => {
    const file = recipes(t, { 'r.yaml': 'name: self\nsteps:\n  - { id: s, task: noop, needs: [s] }\n' });
    const e = await failure(file);
    assert.equal(e.reason, 'GRAPH_CYCLE');
    assert.match(e.message, /'s' needs itself/);
  });

  it('a two-step cycle names both', async (t) => {
    const file = recipes(t, { 'r.yaml': 'name: two\nsteps:\n  - { id: x, task: noop, needs: y }\n  - { id: y, task: noop, needs: x }\n' });
    assert.match((await failure(file)).message, /x → y → x/);
  });
});

describe('references', () => {
  it('outputs of a step that is needed only indirectly are fine', async (t) => {
    const file = recipes(t, {
      'r.yaml': `name: refs
steps:
  - { id: a, task: noop }
  - { id: b, task: noop, needs: [a] }
  - { id: c, task: noop, needs: [b], with: { label: "\${{ steps.a.outputs.x }}" } }
`,
    });
    const g = await graphOf(file);
    assert.equal(g.steps[2]!.with.label, '${{ steps.a.outputs.x }}');
  });

  it('outputs of a step that is not needed are refused', async (t) => {
    const file = recipes(t, {
      'r.yaml': 'name: refs\nsteps:\n  - { id: a, task: noop }\n  - { id: c, task: noop, with: { label: "${{ steps.a.outputs.x }}" } }\n',
    });
    const e = await failure(file);
    assert.equal(e.reason, 'NEEDS_MISSING');
  });

  it('outputs of a step that does not exist name the nearest one', async (t) => {
    const file = recipes(t, {
      'r.yaml':
        'name: refs\nsteps:\n  - { id: alpha, task: noop }\n  - { id: c, task: noop, needs: [alpha], with: { label: "${{ steps.alpah.outputs.x }}" } }\n',
    });
    const e = await failure(file);
    assert.equal(e.reason, 'TEMPLATE_INVALID');
    assert.match(e.message, /did you mean 'alpha'/);
  });
});

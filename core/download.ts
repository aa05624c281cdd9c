// Downloads into the cache with undici (loaded only when something is fetched), checksum verified.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

export async function downloadCached(dest: string, sha256: string | undefined): Promise<boolean> {
  try { await fs.access(dest); } catch { return false; }
  if (!sha256) return true;
  return (await fileSha256(dest)) === sha256;
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

// Steps on several hosts may fetch the same file at once (one tarball for every node): they share
// one transfer into the cache instead of racing on one temporary file.
const inFlight = new Map<string, Promise<void>>();

export async function download(url: string, dest: string, sha256: string | undefined, signal: AbortSignal, progress: (line: string) => void): Promise<void> {
  const running = inFlight.get(dest);
  if (running) {
    await running;
    if (!(await downloadCached(dest, sha256))) throw new Error(`checksum mismatch for ${url}: the cached file does not have sha256 ${sha256}`);
    return;
  }
  const transfer = fetchInto(url, dest, sha256, signal, progress);
  inFlight.set(dest, transfer);
  try { await transfer; } finally { inFlight.delete(dest); }
}

async function fetchInto(url: string, dest: string, sha256: string | undefined, signal: AbortSignal, progress: (line: string) => void): Promise<void> {
  const { request } = await import('undici');
  await fs.mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}`;
  try {
    let target = url;
    for (let hops = 0; ; hops++) {
      const res = await request(target, { method: 'GET', signal });
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && hops < 5) {
        await res.body.dump();
        target = new URL(String(res.headers.location), target).href;
        continue;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`download of ${url} failed: HTTP ${res.statusCode}`);
      }
      const total = Number(res.headers['content-length'] ?? 0);
      const hash = createHash('sha256');
      let got = 0, lastShown = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          got += chunk.length;
          hash.update(chunk);
          if (got - lastShown >= 8 * 1024 * 1024) { lastShown = got; progress(`downloaded ${(got / 1048576).toFixed(0)} MiB${total ? ` of ${(total / 1048576).toFixed(0)} MiB` : ''}`); }
          cb(null, chunk);
        },
      });
      await pipeline(res.body, meter, createWriteStream(tmp, { mode: 0o644 }));
      const digest = hash.digest('hex');
      if (sha256 && digest !== sha256) throw new Error(`checksum mismatch for ${url}: expected sha256 ${sha256}, got ${digest}`);
      await fs.rename(tmp, dest);
      return;
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

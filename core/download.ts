// Downloads into the cache with undici (loaded only when something is fetched): progress lines,
// resume with an HTTP Range request after a cut connection (in the same run, or a later one from
// the partial file), and a checksum that must match before the file takes its place in the cache.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';

export async function downloadCached(dest: string, sha256: string | undefined): Promise<boolean> {
  // Synchronous: planning asks this for every download, and a trip through the thread pool costs more than the check.
  if (!existsSync(dest)) return false;
  if (!sha256) return true;
  return (await fileSha256(dest)) === sha256;
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** How often a cut connection is resumed before the download fails. */
const RESUMES = 5;

export class ChecksumError extends Error {}

interface PartMeta {
  url: string;
  validator?: string;
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
  try {
    await transfer;
  } finally {
    inFlight.delete(dest);
  }
}

async function fetchInto(url: string, dest: string, sha256: string | undefined, signal: AbortSignal, progress: (line: string) => void): Promise<void> {
  const { request } = await import('undici');
  await fs.mkdir(dirname(dest), { recursive: true });
  // A stable name, so that a later run resumes what this one could not finish.
  const part = `${dest}.part`;
  const metaFile = `${dest}.part.json`;
  const unlock = await lockFile(`${dest}.lock`);
  try {
    let meta: PartMeta | undefined;
    try {
      meta = JSON.parse(await fs.readFile(metaFile, 'utf8')) as PartMeta;
    } catch { /* no partial download */ }
    let have = meta?.url === url ? await size(part) : 0;
    if (!have) {
      await fs.rm(part, { force: true });
      meta = { url };
    }
    let validator = meta?.validator;
    let total = 0;
    let lastShown = -1;
    const show = (got: number, final = false) => {
      // A line per tenth of the file (or per 64 MiB when the size is unknown), and the last one.
      const step = total ? total / 10 : 64 * 1048576;
      const bucket = Math.floor(got / step);
      if (!final && bucket === lastShown) return;
      lastShown = bucket;
      progress(`${url.split('/').pop()}: ${mib(got)}${total ? ` of ${mib(total)} (${Math.floor((got / total) * 100)}%)` : ''}`);
    };
    for (let attempt = 0;; attempt++) {
      const headers: Record<string, string> = {};
      if (have) {
        headers.range = `bytes=${have}-`;
        if (validator) headers['if-range'] = validator;
      }
      let res;
      try {
        res = await followRedirects(request, url, headers, signal);
      } catch (e) {
        if (signal.aborted || attempt >= RESUMES || !transient(e)) throw new Error(`download of ${url} failed: ${(e as Error).message}`);
        await pause(attempt);
        continue;
      }
      if (res.statusCode === 416 && have) {
        // The partial file is as long as (or longer than) the resource: start over.
        await res.body.dump();
        have = 0;
        await fs.rm(part, { force: true });
        continue;
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        await res.body.dump();
        throw new Error(`download of ${url} failed: HTTP ${res.statusCode}`);
      }
      const resumed = res.statusCode === 206 && have > 0 && String(res.headers['content-range'] ?? '').startsWith(`bytes ${have}-`);
      if (!resumed) have = 0;
      const length = Number(res.headers['content-length'] ?? 0);
      total = length ? have + length : 0;
      const v = res.headers.etag ?? res.headers['last-modified'];
      validator = typeof v === 'string' && !/^W\//.test(v) ? v : undefined;
      await fs.writeFile(metaFile, JSON.stringify({ url, ...(validator ? { validator } : {}) }));
      if (resumed) progress(`${url.split('/').pop()}: resuming at ${mib(have)}`);
      // Each chunk is awaited onto the disk, so the partial file always holds exactly what arrived.
      const fh = await fs.open(part, resumed ? 'a' : 'w', 0o644);
      let failed: Error | undefined;
      try {
        for await (const chunk of res.body) {
          await fh.write(chunk as Buffer);
          have += (chunk as Buffer).length;
          show(have);
        }
      } catch (e) {
        failed = e as Error;
      } finally {
        await fh.close();
      }
      if (failed) {
        if (signal.aborted || attempt >= RESUMES) throw new Error(`download of ${url} failed after ${mib(have)}: ${failed.message}`);
        await pause(attempt);
        continue;
      }
      have = await size(part);
      if (total && have < total) {
        // The server closed the body early without an error: resume like a cut connection.
        if (attempt >= RESUMES) throw new Error(`download of ${url} stopped at ${mib(have)} of ${mib(total)}`);
        continue;
      }
      show(have, true);
      break;
    }
    const digest = await fileSha256(part);
    if (sha256 && digest !== sha256) {
      await fs.rm(part, { force: true });
      await fs.rm(metaFile, { force: true });
      throw new ChecksumError(`checksum mismatch for ${url}: expected sha256 ${sha256}, got ${digest}; the download was discarded (nothing kept in the cache)`);
    }
    await fs.rename(part, dest);
    await fs.rm(metaFile, { force: true });
  } finally {
    await unlock();
  }
}

type Request = typeof import('undici').request;

async function followRedirects(request: Request, url: string, headers: Record<string, string>, signal: AbortSignal) {
  let target = url;
  for (let hops = 0;; hops++) {
    const res = await request(target, { method: 'GET', headers, signal });
    if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && hops < 5) {
      await res.body.dump();
      target = new URL(String(res.headers.location), target).href;
      continue;
    }
    return res;
  }
}

async function size(path: string): Promise<number> {
  try {
    return (await fs.stat(path)).size;
  } catch {
    return 0;
  }
}

function mib(n: number): string {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
}

/**
 * Worth asking again: a connection that broke or timed out. A name that does not resolve or a port
 * that refuses does not change in a few seconds; retrying it only delays an offline plan.
 */
function transient(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } } | undefined;
  const code = err?.code ?? err?.cause?.code ?? '';
  return ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']
    .includes(code);
}

function pause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
}

/** One download per cache file at a time; a holder that died no longer blocks. */
async function lockFile(path: string): Promise<() => Promise<void>> {
  for (let i = 0;; i++) {
    try {
      const fh = await fs.open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => fs.rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(await fs.readFile(path, 'utf8').catch(() => '0'));
    let alive = false;
    if (holder > 0) {
      try {
        process.kill(holder, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (!alive && (holder > 0 || i > 20)) {
      await fs.rm(path, { force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

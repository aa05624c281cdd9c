// A loopback HTTP server for download tests: serves files by path, honours Range requests, and can
// cut a connection on purpose after a number of bytes (the way a flaky link would).
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Teardown } from './dockerd.ts';

export interface Served {
  /** A file on disk, or bytes. */
  file?: string;
  bytes?: Uint8Array;
  /** Cut the connection after this many body bytes, for the first `cuts` requests (default 1). */
  cutAfter?: number;
  cuts?: number;
  /** Answer every request with the whole file (200), ignoring Range. */
  ignoreRange?: boolean;
}

export interface HttpServer {
  url(path: string): string;
  /** Every request seen: path and Range header. */
  requests: { path: string; range?: string; ifRange?: string }[];
  serve(path: string, what: Served): void;
}

export async function startHttpServer(t: Teardown): Promise<HttpServer> {
  const routes = new Map<string, Served & { cutsLeft: number }>();
  const requests: HttpServer['requests'] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({
      path,
      ...(req.headers.range ? { range: String(req.headers.range) } : {}),
      ...(req.headers['if-range'] ? { ifRange: String(req.headers['if-range']) } : {}),
    });
    const r = routes.get(path);
    if (!r) {
      res.writeHead(404).end();
      return;
    }
    const total = r.file ? statSync(r.file).size : r.bytes!.length;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    const etag = `"${total}-fixed"`;
    const headers: Record<string, string | number> = { etag, 'accept-ranges': 'bytes' };
    if (m && !r.ignoreRange && (!req.headers['if-range'] || req.headers['if-range'] === etag)) {
      start = Number(m[1]);
      if (start >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-length': total - start, 'content-range': `bytes ${start}-${total - 1}/${total}` });
    } else {
      res.writeHead(200, { ...headers, 'content-length': total });
    }
    const cut = r.cutAfter !== undefined && r.cutsLeft > 0 ? r.cutAfter : undefined;
    if (cut !== undefined) r.cutsLeft--;
    if (cut !== undefined) {
      // Exactly `cut` bytes reach the client, then the server closes the connection mid-body (a FIN, so no byte in flight is lost).
      const end = Math.min(total, start + cut);
      const prefix = r.file ? readSlice(r.file, start, end) : Buffer.from(r.bytes!.subarray(start, end));
      res.write(prefix, () => res.socket?.end());
      return;
    }
    if (r.file) createReadStream(r.file, { start }).pipe(res);
    else res.end(Buffer.from(r.bytes!.subarray(start)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    })
  );
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    serve: (path, what) => routes.set(path, { ...what, cutsLeft: what.cuts ?? 1 }),
  };
}

function readSlice(file: string, start: number, end: number): Buffer {
  const buf = Buffer.alloc(end - start);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, buf.length, start);
  } finally {
    closeSync(fd);
  }
  return buf;
}

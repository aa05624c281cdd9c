// Reads of files on this machine. A plan makes about a hundred of them, each small; an async read
// waits a round trip through libuv's thread pool (0.2–0.5 ms on a busy 2-core machine, most of a
// plan's idle time), a synchronous one of a small file takes a few microseconds.
import { closeSync, fstatSync, openSync, promises as fs, readFileSync } from 'node:fs';

/** Larger files are read asynchronously, so a big one does not stall every other step. */
const SMALL = 1 << 20;

/** The bytes of a local file; throws as fs.readFile does (ENOENT, EACCES, EISDIR…). */
export async function readLocalFile(path: string): Promise<Buffer> {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).size <= SMALL) return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  return fs.readFile(path);
}

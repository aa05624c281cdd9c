// Shared test plumbing: temp roots, and skips that name the install command (failures under CI=true).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export const repoRoot = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

const leftovers = new Set<string>();
// Deno never runs t.after() of a test nested in describe(): what is left is removed when the file ends.
(globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.('unload', () => {
  for (const dir of leftovers) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory removed when the test ends, even on failure. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'kubestrap-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  leftovers.add(dir);
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    leftovers.delete(dir);
  });
  return dir;
}

export function hasBinary(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', bin], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns a skip reason when a binary is missing, naming how to install it. Under CI=true a missing
 * binary is a failure instead: CI must really exercise every suite.
 */
export function missing(bins: string[], install: string): string | undefined {
  const absent = bins.filter((b) => !hasBinary(b));
  if (!absent.length) return undefined;
  const reason = `${absent.join(', ')} not installed (${install})`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

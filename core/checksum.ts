// A published checksum file (`HASH` or `HASH  NAME`), as releases put one beside each download.
import { UserError } from './errors.ts';
import { isPlaceholder } from './placeholder.ts';

/** The sha256 a checksum file holds; a placeholder (not fetched while planning offline) passes through. */
export function parseChecksum(text: string, url: string, fix = 'check the mirror URL'): string {
  if (isPlaceholder(text)) return text;
  const m = /^\s*([a-fA-F0-9]{64})\b/.exec(text);
  if (!m) throw new UserError('CHECKSUM_INVALID', `${url} does not hold a sha256 checksum`, { fix });
  return m[1]!.toLowerCase();
}

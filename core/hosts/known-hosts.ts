// OpenSSH known_hosts files: which host keys we trust, and trust on first use.
// Format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): [@marker] hostpatterns keytype base64key [comment],
// where a host on a port other than 22 is written [host]:port and a hashed name is |1|salt|hmac-sha1.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownKey {
  file: string;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  type: string;
  /** The key blob as base64, exactly as in the file. */
  key: string;
}

export type Verdict =
  | { status: 'known'; entry: KnownKey }
  | { status: 'revoked'; entry: KnownKey }
  /** The host is listed, but with other keys: the first such entry. */
  | { status: 'mismatch'; entry: KnownKey }
  | { status: 'unknown' };

/** The name a host has in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function hostEntryName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** Every key listed for the host in the given files (missing files are skipped). */
export function keysFor(files: readonly string[], address: string, port: number): KnownKey[] {
  const name = hostEntryName(address, port);
  const out: KnownKey[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const fields = line.split(/\s+/);
      let marker: KnownKey['marker'];
      if (fields[0]!.startsWith('@')) {
        const m = fields.shift()!;
        if (m !== '@revoked' && m !== '@cert-authority') return;
        marker = m.slice(1) as KnownKey['marker'];
      }
      const [hosts, type, key] = fields;
      if (!hosts || !type || !key || !hostsMatch(hosts, name)) return;
      out.push({ file, line: i + 1, ...(marker ? { marker } : {}), type, key });
    });
  }
  return out;
}

/** What the files say about the key a host presented (its SSH wire-format blob). */
export function verify(files: readonly string[], address: string, port: number, blob: Uint8Array): Verdict {
  const presented = Buffer.from(blob).toString('base64');
  const entries = keysFor(files, address, port).filter((e) => e.marker !== 'cert-authority');
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key === presented);
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = entries.filter((e) => !e.marker);
  const match = plain.find((e) => e.key === presented);
  if (match) return { status: 'known', entry: match };
  if (plain.length) return { status: 'mismatch', entry: plain.find((e) => e.type === keyType(blob)) ?? plain[0]! };
  return { status: 'unknown' };
}

/** Appends the host's key; creates the file (0600) and its directory (0700) when missing. */
export function remember(file: string, address: string, port: number, blob: Uint8Array): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let needsNewline = false;
  try {
    const size = statSync(file).size;
    needsNewline = size > 0 && !readFileSync(file, 'utf8').endsWith('\n');
  } catch { /* a new file */ }
  const line = `${hostEntryName(address, port)} ${keyType(blob)} ${Buffer.from(blob).toString('base64')}`;
  appendFileSync(file, `${needsNewline ? '\n' : ''}${line}\n`, { mode: 0o600 });
  return line;
}

/** The key type named at the start of an SSH public key blob, e.g. ssh-ed25519. */
export function keyType(blob: Uint8Array): string {
  const b = Buffer.from(blob);
  if (b.length < 4) return 'unknown';
  const n = b.readUInt32BE(0);
  return b.subarray(4, 4 + n).toString('latin1');
}

/** OpenSSH's fingerprint: SHA256: then unpadded base64 of the blob's digest. */
export function fingerprint(blob: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The host key algorithms to offer for keys of these types, in order (ssh-rsa keys sign with SHA-2 too). */
export function algorithmsFor(types: readonly string[]): string[] {
  const out: string[] = [];
  for (const t of types) {
    const algos = t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t];
    for (const a of algos) if (!out.includes(a)) out.push(a);
  }
  return out;
}

/** A comma-separated pattern list matches when some pattern matches and no negated one does. */
function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatch(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    if (!glob(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatch(entry: string, name: string): boolean {
  const [, , salt, hash] = entry.split('|');
  if (!salt || !hash) return false;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}

function glob(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

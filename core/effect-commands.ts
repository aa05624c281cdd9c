// The shell commands that perform effects (effect-kinds.ts says which effect gets which). The run
// performs exactly these commands and `plan --format sh` prints exactly these commands.
import type { ExecEffect } from './effects.ts';
import { packagesCommand } from './packages.ts';

export { packagesCommand };
import { buildCommand, type Command } from './quote.ts';

const cmd = (pieces: TemplateStringsArray, ...values: unknown[]): Command => buildCommand(pieces, values);

/**
 * Writes stdin to $1 atomically: temp file beside it, mode $2, owner $3 (if set), then rename — and
 * only once all of it arrived: its size ($5, when known) and sha256 ($6) are checked before the rename, so a
 * writer that dies mid-way (its stdin ends early) leaves the old file and no temp file.
 */
export const WRITE_FILE_SCRIPT = [
  'set -eu',
  'tmp=',
  // A signal removes the temp file too (dash runs an EXIT trap on exit only, not on a signal).
  'trap \'rm -f -- "$tmp"\' EXIT',
  "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 141' PIPE",
  'dir=$(dirname -- "$1")',
  'mkdir -p -- "$dir"',
  // The first original stays at $4; any later content that is not it (a user's edit since) is kept
  // beside it under its own digest, so nothing we replace is lost.
  'if [ -n "$4" ] && [ -f "$1" ]; then',
  '  b="$4"; if [ -e "$b" ] && ! cmp -s -- "$1" "$b"; then b="$4.$(sha256sum < "$1" | cut -c1-12)"; fi',
  '  if [ ! -e "$b" ]; then mkdir -p -- "$(dirname -- "$b")"; cp -p -- "$1" "$b.tmp"; mv -f -- "$b.tmp" "$b"; fi',
  'fi',
  'tmp=$(mktemp "$dir/.kubestrap.XXXXXX")',
  'cat > "$tmp"',
  'size=$(wc -c < "$tmp" | tr -d " ")',
  'if [ -n "$5" ] && [ "$size" != "$5" ]; then echo "write-file: $1: got $size of $5 bytes: nothing written" >&2; exit 1; fi',
  'sum=$(sha256sum < "$tmp" | cut -d" " -f1)',
  'if [ "$sum" != "$6" ]; then echo "write-file: $1: content does not match sha256 $6: nothing written" >&2; exit 1; fi',
  'chmod -- "$2" "$tmp"',
  'if [ -n "$3" ]; then chown -- "$3" "$tmp"; fi',
  // A file that is itself a mount point (a container's /etc/hosts) cannot be renamed over: copied into instead.
  'mv -f -- "$tmp" "$1" 2>/dev/null || { mountpoint -q -- "$1" && cat -- "$tmp" > "$1" && rm -f -- "$tmp"; }',
  'tmp=',
].join('\n');

export interface EffectCommand {
  command: Command;
  sudo: boolean;
  /** The write's content, fed on stdin. */
  stdin?: Uint8Array;
}

/** The command that performs a write; content travels on stdin, its size and sha256 go along. */
export function writeCommand(path: string, mode: string, owner: string | undefined, backup: string | undefined, bytes: number | '', sha256: string): Command {
  return cmd`sh -c ${WRITE_FILE_SCRIPT} write-file ${path} ${mode} ${owner ?? ''} ${backup ?? ''} ${bytes} ${sha256}`;
}

/** Copies what an opaque command will overwrite to its backup first (the first original is kept). */
export const BACKUP_SCRIPT = 'if [ -e "$1" ] && [ ! -e "$2" ]; then mkdir -p -- "$(dirname -- "$2")"; cp -a -- "$1" "$2"; fi';

export function backupCommand(path: string, backup: string): Command {
  return cmd`sh -c ${BACKUP_SCRIPT} backup ${path} ${backup}`;
}

export function removeCommand(path: string): Command {
  return cmd`rm -rf -- ${path}`;
}

export function serviceCommand(name: string, action: string): Command {
  return action === 'daemon-reload' ? cmd`systemctl daemon-reload` : cmd`systemctl ${action} ${name}`;
}

/** The command an exec effect recorded. */
export function commandFor(e: ExecEffect): EffectCommand {
  return { command: { text: e.command, simple: e.simple ?? false }, sudo: e.sudo };
}

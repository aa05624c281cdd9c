// The shell commands that perform effects (effect-kinds.ts says which effect gets which). The run
// performs exactly these commands and `plan --format sh` prints exactly these commands.
import type { ExecEffect, PackageEffect } from './effects.ts';
import { buildCommand, type Command } from './quote.ts';

const cmd = (pieces: TemplateStringsArray, ...values: unknown[]): Command => buildCommand(pieces, values);

/**
 * Writes stdin to $1 atomically: temp file beside it, mode $2, owner $3 (if set), then rename.
 * The first original is copied to $4 (if set) and never overwritten, so a backup stays pristine.
 */
export const WRITE_FILE_SCRIPT = [
  'set -eu',
  'dir=$(dirname -- "$1")',
  'mkdir -p -- "$dir"',
  'if [ -n "$4" ] && [ -e "$1" ] && [ ! -e "$4" ]; then mkdir -p -- "$(dirname -- "$4")"; cp -p -- "$1" "$4"; fi',
  'tmp=$(mktemp "$dir/.kubestrap.XXXXXX")',
  'trap \'rm -f -- "$tmp"\' EXIT',
  'cat > "$tmp"',
  'chmod "$2" "$tmp"',
  'if [ -n "$3" ]; then chown "$3" "$tmp"; fi',
  'mv -f -- "$tmp" "$1"',
  'trap - EXIT',
].join('\n');

export interface EffectCommand {
  command: Command;
  sudo: boolean;
  /** The write's content, fed on stdin. */
  stdin?: Uint8Array;
}

/** The command that performs a write; content travels on stdin. */
export function writeCommand(path: string, mode: string, owner: string | undefined, backup: string | undefined): Command {
  return cmd`sh -c ${WRITE_FILE_SCRIPT} write-file ${path} ${mode} ${owner ?? ''} ${backup ?? ''}`;
}

export function removeCommand(path: string): Command {
  return cmd`rm -rf -- ${path}`;
}

export function serviceCommand(name: string, action: string): Command {
  return action === 'daemon-reload' ? cmd`systemctl daemon-reload` : cmd`systemctl ${action} ${name}`;
}

export function packagesCommand(effects: readonly PackageEffect[]): Command {
  const names = effects.map((e) => e.name);
  const { manager, action } = effects[0]!;
  switch (manager) {
    case 'apt':
      return action === 'install'
        ? cmd`env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${names}`
        : cmd`env DEBIAN_FRONTEND=noninteractive apt-get remove -y ${names}`;
    case 'dnf':
    case 'yum':
      return action === 'install' ? cmd`${manager} install -y ${names}` : cmd`${manager} remove -y ${names}`;
    case 'zypper':
      return action === 'install' ? cmd`zypper --non-interactive install ${names}` : cmd`zypper --non-interactive remove ${names}`;
    case 'pacman':
      return action === 'install' ? cmd`pacman -S --noconfirm --needed ${names}` : cmd`pacman -R --noconfirm ${names}`;
    case 'apk':
      return action === 'install' ? cmd`apk add ${names}` : cmd`apk del ${names}`;
  }
}

/** The command an exec effect recorded. */
export function commandFor(e: ExecEffect): EffectCommand {
  return { command: { text: e.command, simple: e.simple ?? false }, sudo: e.sudo };
}

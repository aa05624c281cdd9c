// Shell quoting lives here and nowhere else. Commands run under POSIX sh on every host
// (dash on Debian), so quoting uses single quotes only — never bash's $'…'.

import { UserError } from './errors.ts';

const SAFE = /^[A-Za-z0-9_\/.,:@%+=-]+$/;

/** Quote one word for POSIX sh. The empty string becomes ''. */
export function quote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  // No quoting can carry a NUL: the shell would cut the word (or the spawn would fail) — refuse it.
  if (word.includes('\0')) {
    throw new UserError('NUL_IN_COMMAND', `a NUL byte cannot be part of a command: ${JSON.stringify(word.length > 40 ? word.slice(0, 40) + '…' : word)}`);
  }
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function quoteValue(value: unknown, position: number): string {
  if (Array.isArray(value)) return value.map((v) => quoteValue(v, position)).join(' ');
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return quote(String(value));
  if (value && typeof value === 'object' && 'stdout' in value && typeof (value as { stdout: unknown }).stdout === 'string') {
    // zx rule: an earlier command's output interpolates as its trimmed stdout.
    return quote((value as { stdout: string }).stdout.replace(/\n+$/, ''));
  }
  throw new TypeError(`cannot interpolate ${value === null ? 'null' : typeof value} into a command (value #${position + 1})`);
}

/**
 * The words of a command that is only words as quote() writes them (bare, or single-quoted with
 * `'\\''` for a quote), each separated by one space; undefined for anything else.
 */
export function words(text: string): string[] | undefined {
  if (text.endsWith(' ')) return undefined;
  const out: string[] = [];
  const word = /(?:[A-Za-z0-9_\/.,:@%+=-]+|'[^']*'|\\')+/y;
  let at = 0;
  while (at < text.length) {
    word.lastIndex = at;
    const m = word.exec(text);
    if (!m) return undefined;
    at += m[0].length;
    if (at < text.length && text[at++] !== ' ') return undefined;
    out.push(m[0].replace(/'([^']*)'|\\'/g, (q, inner: string | undefined) => (q === "\\'" ? "'" : inner ?? '')));
  }
  return out.length ? out : undefined;
}

/** Characters that make a command more than one simple command when they appear in its literal text. */
const SHELL_SYNTAX = /[;&|<>()`$\n*?[\]{}~#!\\"']/;

export interface Command {
  /** The command exactly as the shell will see it. */
  text: string;
  /** True when the literal parts hold no shell syntax: the text is one simple command. */
  simple: boolean;
}

/** Builds a command from a tagged template: literal text stays, every value is quoted. */
export function buildCommand(pieces: TemplateStringsArray | readonly string[], values: readonly unknown[]): Command {
  let text = pieces[0] ?? '';
  let simple = !SHELL_SYNTAX.test(text);
  values.forEach((value, i) => {
    const literal = pieces[i + 1] ?? '';
    if (SHELL_SYNTAX.test(literal)) simple = false;
    text += quoteValue(value, i) + literal;
  });
  return { text: text.trim(), simple };
}

/** The command run as root: `sudo -n` for one simple command, `sudo -n sh -c '…'` otherwise. */
export function asRoot(command: Command, isRoot: boolean): string {
  if (isRoot) return command.text;
  return command.simple ? `sudo -n ${command.text}` : `sudo -n sh -c ${quote(command.text)}`;
}

// What a renderer prints for people or into a comment never carries a raw value: control
// characters (a newline that starts a fake line, an escape sequence that hides one, a bidi override
// that reorders one) are shown as visible escapes instead. One function per output; shell words are
// quoted by core/quote.ts.

// C0 and C1 controls, DEL, line/paragraph separators and the bidi embedding/override/isolate marks.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

function escapeChar(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\x1b':
      return '\\e';
  }
  const code = c.codePointAt(0)!;
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** A value printed on a terminal (plan text, live output, errors): one visible line. */
export function terminalText(value: unknown): string {
  return String(value).replace(UNSAFE, escapeChar);
}

/**
 * A value inside a `# …` line of a shell script: nothing in it can end the comment. The same rule
 * as for the terminal, since a reviewer reads the script there.
 */
export function shellComment(value: unknown): string {
  return terminalText(value);
}

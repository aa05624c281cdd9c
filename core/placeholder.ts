// A placeholder stands, in a plan, for a value only a mutating effect could produce
// (`<output of kubeadm-init>`). This file is the only one that knows how one is written.

const PATTERN = /<output of [^<>]+>/;

export function placeholder(what: string): string {
  return `<output of ${what}>`;
}

/** The whole value is one placeholder. */
export function isPlaceholder(value: unknown): boolean {
  return typeof value === 'string' && new RegExp(`^${PATTERN.source}$`).test(value);
}

/** The value contains a placeholder somewhere. */
export function hasPlaceholder(value: unknown): boolean {
  return typeof value === 'string' && PATTERN.test(value);
}

/**
 * The text around placeholders: `a<output of x>b` → ['a', 'b']. A placeholder interpolated into a
 * command was quoted as one word (`'<output of x>'`); the real value may need no quotes, so the
 * quotes go with the placeholder.
 */
export function splitAtPlaceholders(text: string): string[] {
  return text.split(new RegExp(`'${PATTERN.source.replace('[^<>]', "[^<>']")}'|${PATTERN.source}`, 'g'));
}

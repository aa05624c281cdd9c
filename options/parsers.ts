// Parsers several options share: one function and one reason per kind of value.
import { UserError } from '../core/errors.ts';

export function port(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UserError('PORT_INVALID', `${JSON.stringify(value)} is not a port number`, { fix: 'use a port from 1 to 65535' });
  }
  return n;
}

export function url(example: string): (value: unknown) => string {
  return (value) => {
    try {
      new URL(String(value));
    } catch {
      throw new UserError('URL_INVALID', `${JSON.stringify(value)} is not a URL`, { fix: `e.g. ${example}` });
    }
    return String(value);
  };
}

export function text(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') throw new UserError('PARAM_INVALID', `${JSON.stringify(value)} is not text`);
  return String(value);
}

export function wholeNumber(min: number): (value: unknown) => number {
  return (value) => {
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
      throw new UserError('PARAM_INVALID', `${JSON.stringify(value)} is not a whole number ≥ ${min}`);
    }
    return n;
  };
}

/** A switch: true/false, as a flag without a value or a recipe/--set value. */
export function flag(value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false' || value === undefined) return false;
  throw new UserError('PARAM_INVALID', `${JSON.stringify(value)} is not true or false`);
}

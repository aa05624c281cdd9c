// minikube's size flags: `20g`, `20000mb`, `2048` (MiB when no unit).
import { UserError } from '../../core/errors.ts';

const UNITS: Record<string, number> = { '': 1, m: 1, mb: 1, mib: 1, g: 1024, gb: 1024, gib: 1024, t: 1024 * 1024, tb: 1024 * 1024 };

export function sizeMiB(value: string | number, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(value));
  const unit = m?.[2]?.toLowerCase() ?? '';
  if (!m || !(unit in UNITS)) throw new UserError('USAGE', `${flag} ${value} is not a size`, { fix: 'e.g. 20g, 20000mb or 2048 (MiB)' });
  const n = Math.round(Number(m[1]) * UNITS[unit]!);
  if (n < 1) throw new UserError('USAGE', `${flag} ${value} is too small`);
  return n;
}

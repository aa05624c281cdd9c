// Failures users can meet carry a stable reason, a one-line message and the fix.
// Anything else is a bug and keeps its stack (shown with --verbose).

export const EXIT = { ok: 0, failed: 1, badInput: 2, refused: 3, interrupted: 130 } as const;

export interface Where {
  file: string;
  line?: number;
  column?: number;
}

export function formatWhere(where: Where | undefined): string {
  if (!where) return '';
  return `${where.file}${where.line ? `:${where.line}` : ''}${where.line && where.column ? `:${where.column}` : ''}: `;
}

/** Bad input: usage, recipe, task file or parameter mistakes. Exit code 2. */
export class UserError extends Error {
  readonly reason: string;
  readonly fix?: string;
  readonly where?: Where;
  readonly exitCode: number = EXIT.badInput;
  constructor(reason: string, message: string, opts: { fix?: string; where?: Where; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'UserError';
    this.reason = reason;
    this.fix = opts.fix;
    this.where = opts.where;
  }
  /** The one line a user sees. */
  line(): string {
    return `${formatWhere(this.where)}${this.message}${this.fix ? ` (${this.fix})` : ''} [${this.reason}]`;
  }
}

/** kubestrap declined to go on: profile locked, plan drifted, confirmation declined. Exit code 3. */
export class RefusedError extends UserError {
  override readonly exitCode: number = EXIT.refused;
  constructor(reason: string, message: string, opts: { fix?: string; where?: Where } = {}) {
    super(reason, message, opts);
    this.name = 'RefusedError';
  }
}

/** The one line a step's failure is shown as. */
export function errorLine(error: unknown, interrupted = false): string {
  if (interrupted) return 'interrupted';
  if (error instanceof UserError) return error.line();
  return error instanceof Error ? error.message : String(error);
}

/** A command on a host exited non-zero. */
export class ExecError extends Error {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
    readonly signal?: string | null,
  ) {
    const last = stderr.trim().split('\n').slice(-3).join(' | ') || stdout.trim().split('\n').slice(-1)[0] || '';
    super(`${command} on ${host} ${signal ? `was killed by ${signal}` : `exited ${exitCode}${exitMeaning(exitCode)}`}${last ? `: ${last}` : ''}`);
    this.name = 'ExecError';
  }
}

function exitMeaning(code: number | null): string {
  switch (code) {
    case 126:
      return ' (not executable)';
    case 127:
      return ' (command not found)';
    case 1:
      return '';
    default:
      return code !== null && code > 128 ? ` (signal ${code - 128})` : '';
  }
}

/** Closest candidate by edit distance, for "did you mean …?". */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestScore) {
      best = c;
      bestScore = d;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const n = nearest(word, candidates);
  return n ? `did you mean '${n}'?` : undefined;
}

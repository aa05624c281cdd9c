// A small unified diff (line LCS), enough to show what a write changes in a plan.

const MAX_CELLS = 4_000_000;

export function unifiedDiff(oldText: string, newText: string, path: string, context = 3): string {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  if (a.length * b.length > MAX_CELLS) {
    return `--- ${path}\n+++ ${path}\n@@ whole file replaced (${a.length} lines → ${b.length} lines) @@\n`;
  }
  const ops = lcsOps(a, b);
  const hunks: string[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.op === ' ') {
      i++;
      continue;
    }
    let start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while changes are within 2*context lines of each other.
    while (end < ops.length) {
      if (ops[end]!.op !== ' ') {
        end++;
        continue;
      }
      let next = end;
      while (next < ops.length && ops[next]!.op === ' ') next++;
      if (next < ops.length && next - end <= context * 2) {
        end = next;
        continue;
      }
      break;
    }
    const stop = Math.min(ops.length, end + context);
    const slice = ops.slice(start, stop);
    const aStart = slice[0]!.ai;
    const bStart = slice[0]!.bi;
    const aLen = slice.filter((o) => o.op !== '+').length;
    const bLen = slice.filter((o) => o.op !== '-').length;
    hunks.push(`@@ -${aStart + (aLen ? 1 : 0)},${aLen} +${bStart + (bLen ? 1 : 0)},${bLen} @@`);
    for (const o of slice) {
      if (o.line.endsWith(NO_EOL)) hunks.push(o.op + o.line.slice(0, -NO_EOL.length), '\\ No newline at end of file');
      else hunks.push(o.op + o.line);
    }
    i = stop;
    start = stop;
  }
  if (!hunks.length) return '';
  return `--- ${path}\n+++ ${path}\n${hunks.join('\n')}\n`;
}

/** Marks a last line without a newline, so that adding or removing that newline is a change (as in diff -u). */
const NO_EOL = '\0no-eol';

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += NO_EOL;
  return lines;
}

interface Op {
  op: ' ' | '-' | '+';
  line: string;
  ai: number;
  bi: number;
}

function lcsOps(a: string[], b: string[]): Op[] {
  const n = a.length, m = b.length;
  const table = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[at(i, j)] = a[i] === b[j] ? table[at(i + 1, j + 1)]! + 1 : Math.max(table[at(i + 1, j)]!, table[at(i, j + 1)]!);
    }
  }
  const ops: Op[] = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: ' ', line: a[i]!, ai: i, bi: j });
      i++;
      j++;
    } // Removals before additions within a change, as diff -u and git print them.
    else if (i < n && (j === m || table[at(i + 1, j)]! >= table[at(i, j + 1)]!)) {
      ops.push({ op: '-', line: a[i]!, ai: i, bi: j });
      i++;
    } else {
      ops.push({ op: '+', line: b[j]!, ai: i, bi: j });
      j++;
    }
  }
  return ops;
}

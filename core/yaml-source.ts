// YAML with positions: every error about a recipe names its file, line and column.
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, type Where } from './errors.ts';

export type YamlPath = readonly (string | number)[];

/** Whether a value contains itself (a recursive YAML alias): nothing downstream could walk it. */
function cyclic(value: unknown, seen = new Set<object>()): boolean {
  if (!value || typeof value !== 'object') return false;
  if (seen.has(value)) return true;
  seen.add(value);
  for (const v of Object.values(value)) if (cyclic(v, seen)) return true;
  seen.delete(value);
  return false;
}

export class YamlSource {
  private parsed?: { doc: Document; lines: LineCounter };
  private constructor(readonly file: string, private readonly text: string, readonly value: unknown, parsed?: { doc: Document; lines: LineCounter }) {
    if (parsed) this.parsed = parsed;
  }

  /**
   * Parses YAML. With a cache directory, a text seen before is read back as JSON (parsing a large
   * recipe costs more than the rest of a plan); positions are then computed only if an error needs one.
   */
  static parse(file: string, text: string, cacheDir?: string): YamlSource {
    const cacheFile = cacheDir ? join(cacheDir, `${createHash('sha256').update(text).digest('hex')}.json`) : undefined;
    if (cacheFile) {
      try {
        return new YamlSource(file, text, JSON.parse(readFileSync(cacheFile, 'utf8')));
      } catch { /* not cached yet */ }
    }
    const { doc, lines } = parseWithPositions(text);
    const err = doc.errors[0];
    if (err) {
      const pos = lines.linePos(err.pos[0]);
      const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
      throw new UserError('RECIPE_YAML', `not valid YAML: ${msg}`, { where: { file, line: pos.line, column: pos.col }, fix: 'fix the YAML syntax' });
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new UserError('RECIPE_YAML', `not valid YAML: ${(e as Error).message}`, { where: { file } });
    }
    if (cyclic(value)) {
      throw new UserError('RECIPE_YAML', 'not valid YAML for a recipe: an alias refers to itself (a recursive structure)', {
        where: { file },
        fix: 'replace the recursive alias (*name inside &name) with the value',
      });
    }
    if (cacheFile) {
      try {
        mkdirSync(cacheDir!, { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(value));
        renameSync(tmp, cacheFile);
      } catch { /* a cache that cannot be written only costs time */ }
    }
    return new YamlSource(file, text, value, { doc, lines });
  }

  /** Where the value at path starts (or its key, when key is true); falls back to the nearest parent. */
  where(path: YamlPath, key = false): Where {
    this.parsed ??= parseWithPositions(this.text);
    const { doc, lines } = this.parsed;
    let node: unknown = doc.contents;
    let best: Node | undefined = node as Node;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
        if (!pair) break;
        if (key && part === path[path.length - 1] && pair.key) {
          best = pair.key as Node;
          break;
        }
        node = pair.value;
      } else if (isSeq(node) && typeof part === 'number') {
        node = node.items[part];
      } else break;
      if (node && (node as Node).range) best = node as Node;
    }
    const offset = best?.range?.[0];
    if (offset === undefined) return { file: this.file };
    const pos = lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col };
  }
}

function parseWithPositions(text: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  return { doc, lines };
}

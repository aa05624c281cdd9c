// YAML with positions: every error about a recipe names its file, line and column.
import { LineCounter, parseDocument, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import { UserError, type Where } from './errors.ts';

export type YamlPath = readonly (string | number)[];

export class YamlSource {
  readonly value: unknown;
  private constructor(readonly file: string, private readonly doc: Document, private readonly lines: LineCounter) {
    this.value = doc.toJS({ maxAliasCount: 100 });
  }

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const err = doc.errors[0];
    if (err) {
      const pos = lines.linePos(err.pos[0]);
      const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
      throw new UserError('RECIPE_YAML', `not valid YAML: ${msg}`, { where: { file, line: pos.line, column: pos.col }, fix: 'fix the YAML syntax' });
    }
    try {
      return new YamlSource(file, doc, lines);
    } catch (e) {
      throw new UserError('RECIPE_YAML', `not valid YAML: ${(e as Error).message}`, { where: { file } });
    }
  }

  /** Where the value at path starts (or its key, when key is true); falls back to the nearest parent. */
  where(path: YamlPath, key = false): Where {
    let node: unknown = this.doc.contents;
    let best: Node | undefined = node as Node;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
        if (!pair) break;
        if (key && part === path[path.length - 1] && pair.key) { best = pair.key as Node; break; }
        node = pair.value;
      } else if (isSeq(node) && typeof part === 'number') {
        node = node.items[part];
      } else break;
      if (node && (node as Node).range) best = node as Node;
    }
    const offset = best?.range?.[0];
    if (offset === undefined) return { file: this.file };
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, column: pos.col };
  }
}

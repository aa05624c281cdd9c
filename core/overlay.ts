// In a plan nothing is written, yet later steps must see what earlier steps would write:
// the overlay holds the planned content of each path (null: planned removal).

export class Overlay {
  private files = new Map<string, { content: Uint8Array | null; mode?: string }>();

  /** undefined: the plan has not touched this path; null: the plan removes it. */
  get(host: string, path: string): Uint8Array | null | undefined {
    const exact = this.files.get(key(host, path));
    if (exact) return exact.content;
    // A planned removal of a parent directory removes this path too: look at each ancestor.
    for (let dir = parent(path); dir !== undefined; dir = parent(dir)) {
      if (this.files.get(key(host, dir))?.content === null) return null;
    }
    return undefined;
  }

  mode(host: string, path: string): string | undefined {
    return this.files.get(key(host, path))?.mode;
  }

  set(host: string, path: string, content: Uint8Array | null, mode?: string): void {
    if (content === null) {
      for (const k of [...this.files.keys()]) if (k.startsWith(key(host, path) + '/')) this.files.delete(k);
    }
    this.files.set(key(host, path), { content, ...(mode ? { mode } : {}) });
  }
}

function key(host: string, path: string): string {
  return `${host}\0${path.replace(/\/+$/, '') || '/'}`;
}

function parent(path: string): string | undefined {
  const trimmed = path.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  if (i < 0 || trimmed === '') return undefined;
  return i === 0 ? '/' : trimmed.slice(0, i);
}

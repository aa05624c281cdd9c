// Secret values (parameters marked secret: true, in a recipe or a task) never reach a plan, an
// event, the state file or an error: wherever one appears it is shown as <secret:NAME>.

export class Secrets {
  private readonly values = new Map<string, string>();

  /** Registers a secret value under its parameter's name (empty values hide nothing). */
  add(name: string, value: unknown): void {
    if (typeof value !== 'string' && typeof value !== 'number') return;
    const s = String(value);
    if (s === '' || /^<(?:secret:|output of )[^<>]*>$/.test(s)) return;
    if (!this.values.has(s)) this.values.set(s, name);
  }

  get size(): number {
    return this.values.size;
  }

  /** The text with every secret value replaced, longest first (a value may contain another). */
  redact(text: string): string {
    if (!this.values.size) return text;
    let out = text;
    for (const [value, name] of [...this.values].sort((a, b) => b[0].length - a[0].length)) {
      if (out.includes(value)) out = out.split(value).join(`<secret:${name}>`);
    }
    return out;
  }

  /** A copy of a JSON-like value with every string redacted. */
  redactDeep<T>(value: T): T {
    if (!this.values.size) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.redact(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[k] = walk(x);
        return out;
      }
      return v;
    };
    return walk(value) as T;
  }
}

/**
 * Files that may hold credentials (runtime and registry configs, kubeconfigs, anything under a pki
 * or auth directory, keys): a plan shows where they change, never the text of the change.
 */
const CREDENTIAL_PATH =
  /(?:^|\/)(?:pki|auth|secrets?|private)(?:\/|$)|(?:^|\/)\.kube\/config$|\.kubeconfig$|^\/etc\/kubernetes\/[^/]+\.conf$|^\/etc\/containerd\/|^\/etc\/crio\/|^\/etc\/docker\/|^\/etc\/containers\/|(?:^|\/)\.docker\/config\.json$|(?:^|\/)auth\.json$|\.(?:key|pem|p12|pfx|token)$|(?:^|\/)(?:credentials|passwd|shadow|netrc|\.netrc)$/;

export function mayHoldCredentials(path: string): boolean {
  return CREDENTIAL_PATH.test(path);
}

// A run after an audit may do less than the plan listed, never more or other:
// each mutating effect must match the next planned one at or after the last match.
import { isMutating, type Effect } from './effects.ts';
import { RefusedError } from './errors.ts';
import { hasPlaceholder, isPlaceholder, splitAtPlaceholders } from './placeholder.ts';
import { describeEffect } from './render/describe.ts';

export { isMutating };

export class Expectation {
  private next = 0;
  private readonly planned: Effect[];
  constructor(planned: readonly Effect[]) {
    this.planned = planned.filter(isMutating);
  }

  match(step: string, actual: Effect): void {
    if (!isMutating(actual)) return;
    for (let i = this.next; i < this.planned.length; i++) {
      if (sameEffect(this.planned[i]!, actual)) { this.next = i + 1; return; }
    }
    throw new RefusedError('PLAN_DRIFTED', `step '${step}' would ${describeEffect(actual)}, which the audited plan did not list`, {
      fix: 'the machine changed since the plan was made: review a new plan',
    });
  }
}

function sameEffect(p: Effect, a: Effect): boolean {
  // A host planned before it existed may be named after an earlier step's output.
  if (p.kind !== a.kind || !wildcard(p.host, a.host)) return false;
  switch (p.kind) {
    case 'exec': { const x = a as typeof p; return p.sudo === x.sudo && wildcard(p.command, x.command); }
    case 'write': {
      const x = a as typeof p;
      if (p.mode !== x.mode || p.owner !== x.owner || p.sudo !== x.sudo || !wildcard(p.path, x.path)) return false;
      if (p.sha256 === x.sha256) return true;
      // A file put from a download not yet made when planning: its checksum was a placeholder.
      if (p.source !== undefined && p.source === x.source && isPlaceholder(p.sha256)) return true;
      return p.content !== undefined && x.content !== undefined && hasPlaceholder(p.content) && wildcard(p.content, x.content);
    }
    case 'remove': { const x = a as typeof p; return p.sudo === x.sudo && wildcard(p.path, x.path); }
    case 'service': { const x = a as typeof p; return p.name === x.name && p.action === x.action && p.sudo === x.sudo; }
    case 'package': { const x = a as typeof p; return p.name === x.name && p.action === x.action; }
    case 'download': { const x = a as typeof p; return p.url === x.url && (p.sha256 === x.sha256 || isPlaceholder(p.sha256)); }
    default: return false;
  }
}

/** Equal, where a placeholder in the planned text stands for any text. */
export function wildcard(planned: string, actual: string): boolean {
  if (!hasPlaceholder(planned)) return planned === actual;
  const pattern = splitAtPlaceholders(planned).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*?');
  return new RegExp(`^${pattern}$`).test(actual);
}

// A run after an audit may do less than the plan listed, never more or other:
// each mutating effect must match the next planned one at or after the last match.
import { describeEffect, isMutating, sameEffect } from './effect-kinds.ts';
import type { Effect } from './effects.ts';
import { RefusedError } from './errors.ts';

export { isMutating, wildcard } from './effect-kinds.ts';

export class Expectation {
  private next = 0;
  private readonly planned: Effect[];
  constructor(planned: readonly Effect[]) {
    this.planned = planned.filter(isMutating);
  }

  match(step: string, actual: Effect): void {
    if (!isMutating(actual)) return;
    for (let i = this.next; i < this.planned.length; i++) {
      if (sameEffect(this.planned[i]!, actual)) {
        this.next = i + 1;
        return;
      }
    }
    throw new RefusedError('PLAN_DRIFTED', `step '${step}' would ${describeEffect(actual)}, which the audited plan did not list`, {
      fix: 'the machine changed since the plan was made: review a new plan',
    });
  }
}

// The engine's only way to say anything: typed events. Renderers subscribe; tasks never print.
import type { Effect, Note } from './effects.ts';
import { Secrets } from './secrets.ts';

export type StepStatus = 'change' | 'ok' | 'failed' | 'skipped' | 'interrupted';

export type EngineEvent =
  | { type: 'run-start'; mode: 'plan' | 'run'; recipe: string; profile: string; steps: { id: string; task: string; host: string; needs: string[] }[] }
  | { type: 'step-start'; step: string; task: string; host: string }
  | { type: 'effect'; step: string; effect: Effect }
  | { type: 'note'; step: string; note: Note }
  | { type: 'output'; step: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'step-finish'; step: string; status: 'change' | 'ok'; ms: number }
  | { type: 'step-failed'; step: string; error: string; ms: number }
  | { type: 'step-skipped'; step: string; reason: string }
  | { type: 'run-finish'; mode: 'plan' | 'run'; status: 'ok' | 'failed' | 'interrupted'; counts: Record<StepStatus, number>; ms: number };

export type Listener = (event: EngineEvent) => void;

export class Events {
  private listeners: Listener[] = [];
  /** Every event is redacted on its way out: no listener ever sees a secret value. */
  constructor(readonly secrets = new Secrets()) {}
  on(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
  emit(event: EngineEvent): void {
    const shown = this.secrets.redactDeep(event);
    for (const l of this.listeners) l(shown);
  }
}

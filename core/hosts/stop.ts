// Stopping a running command (abort or timeout) is the same on every kind of host: SIGTERM first,
// so its traps run and clean up, SIGKILL if it outlives that, then stop waiting for it.

/** How long a signalled command gets before it is killed, and a killed one before we stop waiting. */
export const KILL_AFTER_MS = 2000;

export interface Stopper {
  /** Starts the escalation (only the first call counts); `why` is kept for the result. */
  stop(why: string): void;
  /** Why it was stopped, once it was. */
  readonly why: string | undefined;
  /** Cancels pending escalation when the command ended. */
  done(): void;
}

/** `signal` delivers TERM or KILL to the command; `giveUp` (optional) ends the wait once KILL did not. */
export function stopper(signal: (sig: 'TERM' | 'KILL') => void, giveUp?: () => void): Stopper {
  let why: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    get why() {
      return why;
    },
    stop(reason) {
      if (why !== undefined) return;
      why = reason;
      signal('TERM');
      timer = setTimeout(() => {
        signal('KILL');
        if (giveUp) timer = setTimeout(giveUp, KILL_AFTER_MS);
      }, KILL_AFTER_MS);
    },
    done() {
      clearTimeout(timer);
    },
  };
}

// A machine that did not come up as it should: not bad input (exit 1, not 2), but still one line
// with the stable reason and the next step.
export class MachineError extends Error {
  constructor(readonly reason: string, message: string, readonly fix: string) {
    super(`${message} (${fix}) [${reason}]`);
    this.name = 'MachineError';
  }
}

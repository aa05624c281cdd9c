// --nodes for the drivers that make their own machines (docker, podman, kvm2, qemu, virtualbox): one
// control plane and up to four workers, each a fixed slot of the driver's recipe (m02 … m05) that
// --nodes switches on.
import { UserError } from '../core/errors.ts';
import { defineOption } from '../options/option.ts';
import { wholeNumber } from '../options/parsers.ts';

/** Nodes a profile can have: the control plane and the recipes' worker slots. */
export const MAX_NODES = 5;

export const nodesOption = defineOption({
  flag: 'nodes',
  key: 'nodes',
  type: 'number',
  default: 1,
  arg: 'n',
  help: `How many nodes: one control plane, the rest workers (at most ${MAX_NODES})`,
  parse: (v) => {
    const n = wholeNumber(1)(v);
    if (n > MAX_NODES) throw new UserError('NODES_INVALID', `${n} nodes: a profile has 1 to ${MAX_NODES}`, { fix: 'e.g. --nodes 3' });
    return n;
  },
});

/** The recipe-only switches of the worker slots (--nodes sets them). */
export const workerSlotOptions = Array.from({ length: MAX_NODES - 1 }, (_, i) =>
  defineOption({
    key: `worker${i + 1}`,
    type: 'boolean',
    default: false,
    help: `Node m${String(i + 2).padStart(2, '0')} (--nodes sets it)`,
    parse: (v) => v === true || v === 'true',
  }));

/** The worker slots --nodes switches on. */
export function workerSlots(params: Readonly<Record<string, unknown>>): Record<string, boolean> {
  if (params.nodes === undefined) return {};
  const n = Number(params.nodes);
  return Object.fromEntries(Array.from({ length: MAX_NODES - 1 }, (_, i) => [`worker${i + 1}`, i + 1 < n]));
}

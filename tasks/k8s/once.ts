// A task's check, run and outputs each get the same context: work done in check (probes, notes)
// is done once per step, not again in run or outputs.
const memo = new WeakMap<object, Map<string, Promise<unknown>>>();

export function once<T>(ctx: object, key: string, fn: () => Promise<T>): Promise<T> {
  let m = memo.get(ctx);
  if (!m) memo.set(ctx, m = new Map());
  let p = m.get(key) as Promise<T> | undefined;
  if (!p) m.set(key, p = fn());
  return p;
}

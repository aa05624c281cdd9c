// What a driver declares: names, a priority for automatic selection, a status check with a
// timeout, its own options (flags), and which shipped recipes bring its cluster up and tear it down.
// Adding a driver: one file here, its recipes, and one line in drivers/index.ts.
import { execFile } from 'node:child_process';
import type { AnyOption } from '../options/option.ts';

/** minikube's priority bands: drivers at Discouraged or below are never picked automatically. */
export const PRIORITY = {
  Unknown: 0,
  Obsolete: 1,
  Unsupported: 2,
  Experimental: 3,
  Discouraged: 4,
  Fallback: 5,
  Default: 6,
  Preferred: 7,
  HighlyPreferred: 8,
} as const;

export interface DriverStatus {
  installed: boolean;
  healthy: boolean;
  /** Why not installed or not healthy. */
  reason?: string;
  fix?: string;
  doc?: string;
}

/** The flags of `kubestrap start` as cac parsed them, by camel-cased flag name. */
export type StartFlags = Readonly<Record<string, unknown>>;

export interface Driver {
  name: string;
  aliases: readonly string[];
  priority: number;
  description: string;
  /**
   * The driver's own options (--ssh-*, --cpus, --memory, …), besides the cluster options every
   * driver takes (options/cluster.ts). They become `start` flags and the option set named after
   * the driver, which its recipes take with `options: [cluster, NAME]`.
   */
  options: readonly AnyOption[];
  /** Recipes: the cluster's graph, and its teardown. */
  startRecipe: string;
  deleteRecipe: string;
  /** Installed and healthy here? Called through statusWithin, which bounds it. */
  status(): Promise<DriverStatus>;
  /** Recipe parameters that follow from the flags given (docker: the worker slots --nodes switches on). */
  derivedParams?(given: Readonly<Record<string, unknown>>): Record<string, unknown>;
  /** Refuses a start that lacks what the driver needs; `params`: the saved ones with the flags over them. */
  checkStart?(params: Readonly<Record<string, unknown>>): void;
  /** The delete recipe's parameters from the start run's; `localBackups`: the profile's backup directory here. */
  deleteParams(started: Record<string, unknown>, localBackups: string): Record<string, unknown>;
}

/** A status check that does not answer in time is reported as such, never waited on forever. */
export async function statusWithin(driver: Driver, timeoutMs: number): Promise<DriverStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DriverStatus>((resolve) => {
    timer = setTimeout(
      () => resolve({ installed: false, healthy: false, reason: `the ${driver.name} status check did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([driver.status().catch((e: Error) => ({ installed: false, healthy: false, reason: e.message })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a local program for a status check (no shell), bounded by a timeout. */
export function probeLocal(file: string, args: string[], timeoutMs = 5000): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ ok: !error, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

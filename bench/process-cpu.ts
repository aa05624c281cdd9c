// The CPU time of every program that ends while a measured run goes, by program name, from the
// kernel's process accounting (acct(2) through `accton`, read back with `dump-acct`; Debian's
// acct package). It names what a node's cgroup or the daemon's share is made of: gzip, sha256sum,
// the daemon's re-executions, kubestrap itself. Programs still running at the end (dockerd, a
// node's systemd) are not in it.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

export const ACCT_INSTALL = 'apt-get install acct';

export function processAccountingAvailable(): boolean {
  return ['accton', 'dump-acct'].every((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0);
}

/** Accounting on into FILE until the returned function is called; that gives CPU ms by program name. */
export function startAccounting(file: string): () => Map<string, number> {
  writeFileSync(file, '');
  const on = spawnSync('accton', [file], { encoding: 'utf8' });
  if (on.status !== 0) throw new Error(`accton ${file} failed: ${on.stderr}`);
  return () => {
    stopAccounting();
    const out = spawnSync('dump-acct', [file], { encoding: 'utf8', maxBuffer: 256 << 20 }).stdout;
    rmSync(file, { force: true });
    const byName = new Map<string, number>();
    for (const line of out.split('\n')) {
      // name |v3| user | system | elapsed | …, times in 1/100 s (AHZ on Linux).
      const f = line.split('|');
      if (f.length < 4) continue;
      const name = f[0]!.trim();
      byName.set(name, (byName.get(name) ?? 0) + (Number(f[2]) + Number(f[3])) * 10);
    }
    return byName;
  };
}

/** Turns accounting off whatever happened: the machine is left as it was found. */
export function stopAccounting(): void {
  spawnSync('accton', ['off']);
}

// Answers kept from one plan or run to the next, for facts whose answer follows from something
// cheap to check: `containerd --version` depends only on the binary, which a stat identifies. Like an
// HTTP validator, the gathering script prints the fact's validator and asks the slow question only
// when it differs from the one kept (core/facts.ts). Kept per host in one small JSON file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ExecResult } from './hosts/host.ts';

export interface MemoEntry {
  validator: string;
  answer: ExecResult;
}

type Stored = Record<string, Record<string, { validator: string; stdout: string; exitCode: number | null }>>;

export class FactMemo {
  private stored: Stored | undefined;
  private changed = false;

  /** file: where the answers are kept; undefined keeps them for this process only. */
  constructor(private readonly file?: string) {}

  get(host: string, command: string): MemoEntry | undefined {
    const e = this.load()[host]?.[command];
    return e ? { validator: e.validator, answer: { stdout: e.stdout, stderr: '', exitCode: e.exitCode } } : undefined;
  }

  set(host: string, command: string, entry: MemoEntry): void {
    const all = this.load();
    const old = all[host]?.[command];
    if (old && old.validator === entry.validator && old.stdout === entry.answer.stdout && old.exitCode === entry.answer.exitCode) return;
    (all[host] ??= {})[command] = { validator: entry.validator, stdout: entry.answer.stdout, exitCode: entry.answer.exitCode };
    this.changed = true;
  }

  /** Writes what changed (atomically). Only an optimisation: a file that cannot be written is skipped. */
  save(): void {
    if (!this.changed || !this.file) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.load()));
      renameSync(tmp, this.file);
      this.changed = false;
    } catch { /* asked again next time */ }
  }

  private load(): Stored {
    if (this.stored) return this.stored;
    try {
      const parsed = this.file ? JSON.parse(readFileSync(this.file, 'utf8')) : {};
      this.stored = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Stored : {};
    } catch {
      this.stored = {};
    }
    return this.stored;
  }
}

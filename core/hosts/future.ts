// A host that does not exist yet when the plan is made (its address comes from an earlier step):
// it looks like a fresh machine, where nothing is installed and no file exists.
import type { ExecResult, FileInfo, Host, HostFacts } from './host.ts';

export class FutureHost implements Host {
  readonly kind = 'ssh' as const;
  readonly future = true;
  constructor(readonly name: string) {}
  async exec(): Promise<ExecResult> {
    return { stdout: '', stderr: `${this.name} does not exist yet`, exitCode: 1 };
  }
  async readFile(): Promise<Uint8Array | null> { return null; }
  async stat(): Promise<FileInfo> { return { exists: false }; }
  async diskUsage(): Promise<number | undefined> { return undefined; }
  async facts(): Promise<HostFacts> { return { uid: 1000, user: '<user>', home: '<home>' }; }
  shellPrefix(): string[] { return []; }
  async close(): Promise<void> {}
}

// A host that an earlier step of the plan creates (a VM, a container) and that does not exist while
// planning: it answers like a fresh machine, where nothing is installed and no file exists, and is
// never connected to. Its kind, name and user are those the real host will have.
import type { ExecResult, FileInfo, Host, HostFacts, HostKind } from './host.ts';

export class FutureHost implements Host {
  readonly future = true;
  constructor(readonly name: string, readonly kind: HostKind, private readonly user: string, readonly createdBy: readonly string[]) {}
  async exec(): Promise<ExecResult> {
    return { stdout: '', stderr: `${this.name} does not exist yet`, exitCode: 1 };
  }
  async readFile(): Promise<Uint8Array | null> {
    return null;
  }
  async stat(): Promise<FileInfo> {
    return { exists: false };
  }
  async diskUsage(): Promise<number | undefined> {
    return undefined;
  }
  async facts(): Promise<HostFacts> {
    return this.user === 'root' ? { uid: 0, gid: 0, user: 'root', home: '/root' } : { uid: 1000, gid: 1000, user: this.user, home: `/home/${this.user}` };
  }
  shellPrefix(): string[] {
    return [];
  }
  async close(): Promise<void> {}
}

// Effects are data: a task asks for one, the context records it and, when running, performs it.
// Every field is plain JSON so a plan can be saved, audited and applied later. What each kind
// means (mutating, root, commands, words, sameness) is in effect-kinds.ts.

export interface ExecEffect {
  kind: 'exec';
  host: string;
  command: string;
  sudo: boolean;
  /** Set when the literal command is one simple command (no shell syntax of its own). */
  simple?: boolean;
  /** Performed through the container engine's API; the command is its CLI equivalent, for reading and replaying. */
  api?: true;
  /** What an opaque command declared it writes or erases, as found on the host when planned. */
  declares?: DeclaredPath[];
  /** Fed a secret on stdin, never recorded: shown as the shell variable a reader would set to replay it. */
  stdinVar?: string;
}

/**
 * A path an opaque command (kubeadm init, kubeadm reset, …) writes or erases by itself. `DIR/*`
 * stands for everything in DIR. Audited like a write or a remove; a run compares it afterwards.
 */
export interface DeclaredPath {
  path: string;
  action: 'write' | 'erase';
  exists: boolean;
  /** Current size, for what is erased or overwritten. */
  bytes?: number;
  /** Where the current file or directory is copied before the command replaces it. */
  backup?: string;
}

/** The directory or file a declared path names (`DIR/*` → DIR). */
export function declaredBase(path: string): string {
  return path.endsWith('/*') ? path.slice(0, -2) : path;
}

export interface ProbeEffect {
  kind: 'probe';
  host: string;
  command: string;
  readOnly: true;
  /** A command the recipe supplied, not run while planning (the user did not allow it). */
  notRun?: true;
  /**
   * Shell assignments that ran before the command: validators of answers kept from an earlier plan
   * or run (core/fact-memo.ts). Shown, but not part of the digest: the same machine plans the same.
   */
  kept?: string;
}

/** A probe as it ran: its kept validators, then the command. */
export function probeText(e: ProbeEffect): string {
  return e.kept ? `${e.kept}\n${e.command}` : e.command;
}

export interface ReadEffect {
  kind: 'read';
  host: string;
  path: string;
  readOnly: true;
}

export interface WriteEffect {
  kind: 'write';
  host: string;
  path: string;
  mode: string;
  owner?: string;
  sudo: boolean;
  exists: boolean;
  /** The file's content is already what would be written: the write is skipped. */
  unchanged?: boolean;
  sha256: string;
  bytes: number;
  /** sha256 of the file it replaces: a saved plan notices any change to it, binary or large too. */
  currentSha256?: string;
  /** Text content up to 64 KiB with secrets redacted; absent for binary or larger files. */
  content?: string;
  /** Unified diff against the current file, when it exists and is readable text. */
  diff?: string;
  /** Where the current file is copied before it is replaced. */
  backup?: string;
  /** For a file put from the download cache: the cached file it comes from. */
  source?: string;
  secret?: boolean;
}

export interface RemoveEffect {
  kind: 'remove';
  host: string;
  path: string;
  sudo: boolean;
  exists: boolean;
  bytes?: number;
}

export type ServiceAction = 'enable' | 'disable' | 'start' | 'stop' | 'restart' | 'reload' | 'daemon-reload';

export interface ServiceEffect {
  kind: 'service';
  host: string;
  name: string;
  action: ServiceAction;
  sudo: boolean;
}

export interface PackageChange {
  name: string;
  /** The version the transaction leaves (for a removal: the version removed; '' when unknown). */
  version: string;
  /** For an upgrade or downgrade: the version installed now. */
  from?: string;
}

/** What the package manager would really do, from its own simulation of the transaction. */
export interface PackageTransaction {
  install: PackageChange[];
  upgrade: PackageChange[];
  downgrade: PackageChange[];
  remove: PackageChange[];
}

/** One package transaction: the packages asked for, and what the manager would do to get them. */
export interface PackageEffect {
  kind: 'package';
  host: string;
  /** The packages asked for (installed or removed in one command). */
  names: string[];
  action: 'install' | 'remove';
  manager: 'apt' | 'dnf' | 'yum' | 'zypper' | 'pacman' | 'apk';
  sudo: boolean;
  /** Absent when it could not be simulated while planning (the run simulates it again first). */
  transaction?: PackageTransaction;
  /** The user allowed this transaction to remove or downgrade packages; otherwise the command refuses to. */
  allowRemovals?: true;
}

export interface ListenEffect {
  kind: 'listen';
  host: string;
  port: number;
  protocol: 'tcp' | 'udp';
  address: string;
  component: string;
}

export interface DownloadEffect {
  kind: 'download';
  host: string;
  url: string;
  sha256?: string;
  /** Path in the download cache. */
  path: string;
  cached: boolean;
}

export type Effect =
  | ExecEffect
  | ProbeEffect
  | ReadEffect
  | WriteEffect
  | RemoveEffect
  | ServiceEffect
  | PackageEffect
  | ListenEffect
  | DownloadEffect;

/** A finding a task reports to the user (doctor, preflight, audit warnings). */
export interface Note {
  level: 'info' | 'warn' | 'error';
  message: string;
  fix?: string;
  /** Set by ctx.block: a run must not start while the plan has one (the stable reason). */
  blocks?: string;
}

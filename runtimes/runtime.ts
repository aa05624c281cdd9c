// The narrow interface every container runtime implements (containerd, docker + cri-dockerd, cri-o).
import type { TaskContext } from '../core/context.ts';

export type CgroupDriver = 'systemd' | 'cgroupfs';

export interface RuntimeOptions {
  cgroupDriver: CgroupDriver;
  /** The pause (sandbox) image the kubelet expects for this Kubernetes version. */
  pauseImage: string;
  kubernetesVersion: string;
  /**
   * Files that do not come from the distribution, by artifact name (e.g. 'cri-dockerd'): where to
   * fetch them and their checksum. A runtime that needs one has a pinned default.
   */
  downloads?: Readonly<Record<string, { url: string; sha256?: string }>>;
}

export interface ContainerRuntime {
  name: 'containerd' | 'docker' | 'cri-o';
  aliases: readonly string[];
  /** e.g. unix:///run/containerd/containerd.sock */
  criSocket: string;
  /** Distribution packages (Debian names) the runtime needs. */
  packages: readonly string[];
  /** systemd units, in the order they are (re)started. */
  services: readonly string[];
  /** Files the runtime's configuration consists of, exactly as written. */
  configFiles(opts: RuntimeOptions): { path: string; content: string; mode: string }[];
  /** Reads only: installed, configured as configFiles says, and its services running? */
  check(ctx: TaskContext, opts: RuntimeOptions): Promise<boolean>;
  /** Installs, configures and (re)starts; a second call changes nothing. */
  enable(ctx: TaskContext, opts: RuntimeOptions): Promise<void>;
  /** Stops the runtime's services (leaves packages installed). */
  disable(ctx: TaskContext): Promise<void>;
}

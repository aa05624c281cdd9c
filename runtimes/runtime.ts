// The narrow interface every container runtime implements (containerd, docker + cri-dockerd, cri-o).
import type { FactProbe } from '../core/facts.ts';
import type { TaskContext } from '../core/context.ts';

export type CgroupDriver = 'systemd' | 'cgroupfs';

export interface RuntimeOptions {
  cgroupDriver: CgroupDriver;
  /** The pause (sandbox) image the kubelet expects for this Kubernetes version. */
  pauseImage: string;
  kubernetesVersion: string;
  /**
   * Units of the other registered runtimes, stopped and disabled so that two runtimes never both
   * run the kubelet's pods (runtimes/index.ts: otherUnits), sockets first.
   */
  otherUnits: readonly string[];
  /**
   * The machine cannot lower processes' OOM scores (no CAP_SYS_RESOURCE, as in a node container on
   * these hosts): the runtime must not try, or no pod sandbox starts.
   */
  restrictOomScoreAdj?: boolean;
  /**
   * Files that do not come from the distribution, by artifact name (e.g. 'cri-dockerd'): where to
   * fetch them and their checksum. A runtime that needs one has a pinned default.
   */
  downloads?: Readonly<Record<string, { url: string; sha256?: string }>>;
  /**
   * The user allowed package transactions that remove or downgrade packages, and replacing a runtime
   * installed from another source (kubestrap start --allow-package-changes). Off: such plans are blocked.
   */
  allowPackageChanges?: boolean;
}

export interface RuntimeDownload {
  /** The key in RuntimeOptions.downloads (cri-dockerd). */
  name: string;
  /** The install-runtime parameters' prefix (criDockerd → criDockerdUrl, criDockerdSha256). */
  param: string;
  /** '' when the runtime derives it (e.g. from the Kubernetes version). */
  url: string;
  sha256: string;
  description: string;
}

export interface ContainerRuntime {
  name: string;
  aliases: readonly string[];
  /** Runtimes this one runs on and leaves running (docker on the system containerd); stopped after it. */
  uses?: readonly string[];
  /** e.g. unix:///run/containerd/containerd.sock */
  criSocket: string;
  /** Distribution packages (Debian names) the runtime needs when the node has no usable one of its own. */
  packages: readonly string[];
  /** Its systemd units, in the order they are (re)started: a socket before the service it activates. */
  services: readonly string[];
  /**
   * Files that do not come from the distribution, with pinned defaults; install-runtime takes
   * `${param}Url` and `${param}Sha256` parameters for each, passed on as RuntimeOptions.downloads.
   */
  downloads?: readonly RuntimeDownload[];
  /** What its check reads beyond packages, units and config files (release archives' digests), for the host's gathering. */
  facts?(opts: RuntimeOptions): readonly FactProbe[];
  /** Files the runtime's configuration consists of, exactly as written. */
  configFiles(opts: RuntimeOptions): { path: string; content: string; mode: string }[];
  /** Reads only: installed, configured as configFiles says, and its services running? */
  check(ctx: TaskContext, opts: RuntimeOptions): Promise<boolean>;
  /** Installs, configures and (re)starts; a second call changes nothing. */
  enable(ctx: TaskContext, opts: RuntimeOptions): Promise<void>;
  /** Stops the runtime's services (leaves packages installed). */
  disable(ctx: TaskContext): Promise<void>;
}

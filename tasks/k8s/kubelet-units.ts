// The kubelet's systemd unit and kubeadm's drop-in, pointing at kubestrap's versioned binary.
export interface KubeletUnitInput {
  kubelet: string;
  /** Units of the container runtime the kubelet needs (e.g. containerd.service). */
  runtimeUnits: readonly string[];
  /** --extra-config kubelet.KEY=VALUE, as command line flags. */
  flags: [string, string][];
  profile: string;
}

export function renderKubeletUnit(i: KubeletUnitInput): string {
  return [
    '[Unit]',
    `Description=kubelet: the Kubernetes node agent (kubestrap profile ${i.profile})`,
    'Documentation=https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    `ExecStart=${i.kubelet}`,
    // Until kubeadm init writes its configuration the kubelet exits; systemd keeps retrying.
    'Restart=always',
    'StartLimitInterval=0',
    'RestartSec=10',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** kubeadm's drop-in: the kubeconfig and config flags, then kubeadm's own flags file. */
export function renderKubeletDropIn(i: KubeletUnitInput): string {
  const extra = i.flags.map(([k, v]) => ` ${systemdWord(`--${k}=${v}`)}`).join('');
  const units = i.runtimeUnits.join(' ');
  return [
    '# Written by kubestrap: how kubeadm expects the kubelet to be started.',
    '[Unit]',
    ...(units ? [`Wants=${units}`, `After=${units}`] : []),
    '',
    '[Service]',
    'Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"',
    'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"',
    // kubeadm init writes the flags it computes here.
    'EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env',
    'EnvironmentFile=-/etc/default/kubelet',
    'ExecStart=',
    `ExecStart=${i.kubelet} $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS${extra}`,
    '',
  ].join('\n');
}

/** systemd splits ExecStart into words: double-quote a word with spaces or quotes; keep $ and % literal. */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replace(/[\\"]/g, '\\$&')}"` : escaped;
}

// minikube's --extra-config component.key=value, checked once and sorted per component.
import { didYouMean, UserError } from '../../core/errors.ts';
import { proxyValue } from './kube-proxy-fields.ts';

export const COMPONENTS = ['apiserver', 'controller-manager', 'scheduler', 'etcd', 'kubelet', 'kube-proxy', 'kubeadm'] as const;
export type Component = (typeof COMPONENTS)[number];

/** The kubeadm init settings --extra-config kubeadm.KEY may change (everything else is in the config file). */
export const KUBEADM_KEYS = ['ignore-preflight-errors', 'pod-network-cidr', 'service-cidr'] as const;

export type ExtraConfig = Record<Component, [string, string][]>;

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function parseExtraConfig(items: readonly string[]): ExtraConfig {
  const out = Object.fromEntries(COMPONENTS.map((c) => [c, []])) as unknown as ExtraConfig;
  for (const item of items) {
    const eq = item.indexOf('=');
    const dot = item.indexOf('.');
    if (eq < 0 || dot < 0 || dot > eq) {
      throw new UserError('EXTRA_CONFIG_INVALID', `--extra-config ${JSON.stringify(item)} is not component.key=value`, {
        fix: 'e.g. --extra-config kubelet.max-pods=50',
      });
    }
    const component = item.slice(0, dot) as Component;
    const key = item.slice(dot + 1, eq);
    const value = item.slice(eq + 1);
    if (!COMPONENTS.includes(component)) {
      throw new UserError('EXTRA_CONFIG_INVALID', `--extra-config ${item}: unknown component '${component}'`, {
        fix: didYouMean(component, COMPONENTS) ?? `components: ${COMPONENTS.join(', ')}`,
      });
    }
    if (!KEY.test(key)) {
      throw new UserError('EXTRA_CONFIG_INVALID', `--extra-config ${item}: '${key}' is not a flag name`, { fix: 'keys are letters, digits, ., _ and -' });
    }
    if (/[\n\r\0]/.test(value)) throw new UserError('EXTRA_CONFIG_INVALID', `--extra-config ${component}.${key}: the value may not contain line breaks`);
    if (component === 'kubeadm' && !(KUBEADM_KEYS as readonly string[]).includes(key)) {
      throw new UserError('EXTRA_CONFIG_INVALID', `--extra-config kubeadm.${key} is not supported`, {
        fix: `kubeadm keys: ${KUBEADM_KEYS.join(', ')}; other settings go to a component (apiserver, kubelet, …)`,
      });
    }
    // kube-proxy's settings are fields of its configuration: checked against the type here.
    if (component === 'kube-proxy') proxyValue(key, value);
    const list = out[component];
    const at = list.findIndex(([k]) => k === key);
    if (at >= 0) list[at] = [key, value]; // the last one given wins, as with repeated flags
    else list.push([key, value]);
  }
  for (const c of COMPONENTS) out[c].sort(([a], [b]) => a.localeCompare(b));
  return out;
}

export function kubeadmSetting(cfg: ExtraConfig, key: (typeof KUBEADM_KEYS)[number]): string | undefined {
  return cfg.kubeadm.find(([k]) => k === key)?.[1];
}

// The fields of kube-proxy's configuration (KubeProxyConfiguration, kubeproxy.config.k8s.io/v1alpha1)
// that --extra-config kube-proxy.KEY may set, nested keys with dots: conntrack.maxPerCore=0. A key the
// type does not have is refused with the nearest one, instead of being dropped by kube-proxy.
import { didYouMean, UserError } from '../../core/errors.ts';

type Kind = 'string' | 'number' | 'boolean' | 'duration' | 'list' | 'map';
interface Fields {
  [name: string]: Kind | Fields;
}

const SYNC = { syncPeriod: 'duration', minSyncPeriod: 'duration' } as const;

export const KUBE_PROXY_FIELDS: Fields = {
  featureGates: 'map',
  clientConnection: { kubeconfig: 'string', acceptContentTypes: 'string', contentType: 'string', qps: 'number', burst: 'number' },
  hostnameOverride: 'string',
  bindAddress: 'string',
  healthzBindAddress: 'string',
  metricsBindAddress: 'string',
  bindAddressHardFail: 'boolean',
  enableProfiling: 'boolean',
  showHiddenMetricsForVersion: 'string',
  mode: 'string',
  iptables: { masqueradeAll: 'boolean', masqueradeBit: 'number', localhostNodePorts: 'boolean', ...SYNC },
  ipvs: { ...SYNC, scheduler: 'string', excludeCIDRs: 'list', strictARP: 'boolean', tcpTimeout: 'duration', tcpFinTimeout: 'duration', udpTimeout: 'duration' },
  nftables: { masqueradeAll: 'boolean', masqueradeBit: 'number', ...SYNC },
  winkernel: { networkName: 'string', sourceVip: 'string', enableDSR: 'boolean', rootHnsEndpointName: 'string', forwardHealthCheckVip: 'boolean' },
  detectLocalMode: 'string',
  detectLocal: { bridgeInterface: 'string', clusterCIDRs: 'list', interfaceNamePrefix: 'string' },
  clusterCIDR: 'string',
  nodePortAddresses: 'list',
  oomScoreAdj: 'number',
  conntrack: {
    maxPerCore: 'number',
    min: 'number',
    tcpEstablishedTimeout: 'duration',
    tcpCloseWaitTimeout: 'duration',
    tcpBeLiberal: 'boolean',
    udpTimeout: 'duration',
    udpStreamTimeout: 'duration',
  },
  configSyncPeriod: 'duration',
  portRange: 'string',
  logging: { format: 'string', flushFrequency: 'duration', verbosity: 'number', vmodule: 'list', options: 'map' },
  ...SYNC,
  windowsRunAsService: 'boolean',
};

/** The field's kind, or a UserError naming the nearest field. */
export function proxyField(key: string): Kind {
  let at: Fields | Kind = KUBE_PROXY_FIELDS;
  const parts = key.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (at === 'map') return 'map'; // featureGates.X, logging.options.X: any name
    if (typeof at === 'string') throw unknown(key, parts.slice(0, i).join('.'), []);
    const next: Fields | Kind | undefined = Object.hasOwn(at, parts[i]!) ? at[parts[i]!] : undefined;
    if (next === undefined) throw unknown(key, parts.slice(0, i).join('.'), Object.keys(at), parts[i]!);
    at = next;
  }
  if (typeof at !== 'string') {
    throw new UserError('EXTRA_CONFIG_INVALID', `--extra-config kube-proxy.${key} is a group of settings, not one`, {
      fix: `set one of its fields: ${Object.keys(at).map((k) => `kube-proxy.${key}.${k}`).join(', ')}`,
    });
  }
  return at;
}

function unknown(key: string, parent: string, names: string[], last?: string): UserError {
  const near = last ? didYouMean(last, names) : undefined;
  const where = parent ? `kube-proxy.${parent}` : 'kube-proxy';
  return new UserError('EXTRA_CONFIG_INVALID', `--extra-config kube-proxy.${key}: KubeProxyConfiguration has no field '${key}'`, {
    fix: near ? near.replace(/'([^']+)'/, `'${where}.$1'`) : names.length ? `fields of ${where}: ${names.join(', ')}` : `${where} takes one value`,
  });
}

/** The value in the field's type: numbers and booleans unquoted, lists split at commas. */
export function proxyValue(key: string, value: string): string | number | boolean | string[] {
  switch (proxyField(key)) {
    case 'number':
      if (!/^-?\d+$/.test(value)) throw new UserError('EXTRA_CONFIG_INVALID', `--extra-config kube-proxy.${key}=${value}: a whole number is expected`);
      return Number(value);
    case 'boolean':
      if (value !== 'true' && value !== 'false') {
        throw new UserError('EXTRA_CONFIG_INVALID', `--extra-config kube-proxy.${key}=${value}: true or false is expected`);
      }
      return value === 'true';
    case 'list':
      return value.split(',').map((x) => x.trim()).filter(Boolean);
    case 'map':
      return value === 'true' || value === 'false' ? value === 'true' : value;
    default:
      return value;
  }
}

// The control plane's stable name on the node (minikube's control-plane.minikube.internal): one
// line merged into /etc/hosts, every other line of the user's file kept as it is.
export const HOSTS_FILE = '/etc/hosts';

/** control-plane.PROFILE.internal, the profile made a DNS label. */
export function controlPlaneName(profile: string): string {
  const label = profile.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'kubestrap';
  return `control-plane.${label}.internal`;
}

const names = (line: string) => line.replace(/#.*/, '').trim().split(/\s+/).slice(1);

/** The file without any line naming `name`, then (with an address) the one line kubestrap wants. */
export function mergeHostsEntry(current: string, name: string, address: string | undefined): string {
  const kept = current.split('\n').filter((l, i, all) => !(i === all.length - 1 && l === '')).filter((l) => !names(l).includes(name));
  if (address) kept.push(`${address}\t${name}\t# kubestrap: the control plane's stable name`);
  return kept.length ? `${kept.join('\n')}\n` : '';
}

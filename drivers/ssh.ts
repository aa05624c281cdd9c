// ssh (alias generic): the same kubeadm graph on an existing machine reached over SSH. Each profile
// may use its own machine; the machine itself hosts one cluster.
import { UserError } from '../core/errors.ts';
import type { Driver, StartFlags } from './driver.ts';
import { PRIORITY } from './driver.ts';
import { kubeadmParams, port } from './start-params.ts';

const SSH_KEYS = ['sshIpAddress', 'sshUser', 'sshKey', 'sshPort'] as const;

export const ssh: Driver = {
  name: 'ssh',
  aliases: ['generic'],
  priority: PRIORITY.Discouraged,
  description: 'an existing Linux machine reached over SSH (--ssh-ip-address, --ssh-user, --ssh-key, --ssh-port)',
  startRecipe: 'driver-ssh',
  deleteRecipe: 'delete-ssh',
  // kubestrap's SSH client is built in (ssh2): nothing to install; the machine is checked by preflight.
  async status() {
    return { installed: true, healthy: true };
  },
  startParams(f: StartFlags, saved) {
    if (!f.sshIpAddress && !saved.sshIpAddress) throw new UserError('USAGE', 'the ssh driver needs the machine\'s address', { fix: 'pass --ssh-ip-address ADDRESS (and --ssh-user, --ssh-key, --ssh-port as needed)' });
    return {
      ...kubeadmParams(f),
      ...(f.sshIpAddress ? { sshIpAddress: String(f.sshIpAddress) } : {}),
      ...(f.sshUser !== undefined ? { sshUser: String(f.sshUser) } : {}),
      ...(f.sshKey !== undefined ? { sshKey: String(f.sshKey) } : {}),
      ...(f.sshPort !== undefined ? { sshPort: port(f.sshPort, '--ssh-port') } : {}),
    };
  },
  deleteParams(started) {
    if (!started.sshIpAddress) throw new UserError('PROFILE_UNKNOWN', 'kubestrap does not know which machine this profile\'s ssh cluster is on', { fix: 'delete a profile that kubestrap start created (kubestrap list)' });
    return Object.fromEntries(SSH_KEYS.filter((k) => started[k] !== undefined).map((k) => [k, started[k]]));
  },
};

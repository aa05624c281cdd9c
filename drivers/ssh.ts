// ssh (alias generic): the same kubeadm graph on an existing machine reached over SSH. Each profile
// may use its own machine; the machine itself hosts one cluster.
import { UserError } from '../core/errors.ts';
import { defineOption } from '../options/option.ts';
import { port, text } from '../options/parsers.ts';
import type { Driver } from './driver.ts';
import { PRIORITY } from './driver.ts';

export const sshOptions = [
  defineOption({
    flag: 'ssh-ip-address',
    key: 'sshIpAddress',
    type: 'string',
    default: '',
    arg: 'address',
    help: "The machine's address (required)",
    parse: text,
  }),
  defineOption({ flag: 'ssh-user', key: 'sshUser', type: 'string', default: 'root', arg: 'user', help: 'The user to log in as', parse: text }),
  defineOption({
    flag: 'ssh-key',
    key: 'sshKey',
    type: 'string',
    default: '',
    arg: 'file',
    help: 'The private key; empty: ssh-agent, then ~/.ssh/id_ed25519 and id_rsa',
    parse: text,
  }),
  defineOption({ flag: 'ssh-port', key: 'sshPort', type: 'number', default: 22, arg: 'port', help: 'The SSH port', parse: port }),
] as const;

export const ssh: Driver = {
  name: 'ssh',
  aliases: ['generic'],
  priority: PRIORITY.Discouraged,
  description: 'an existing Linux machine reached over SSH (--ssh-ip-address, --ssh-user, --ssh-key, --ssh-port)',
  options: sshOptions,
  startRecipe: 'driver-ssh',
  deleteRecipe: 'delete-ssh',
  // kubestrap's SSH client is built in (ssh2): nothing to install; the machine is checked by preflight.
  async status() {
    return { installed: true, healthy: true };
  },
  checkStart(params) {
    if (!params.sshIpAddress) {
      throw new UserError('USAGE', "the ssh driver needs the machine's address", {
        fix: 'pass --ssh-ip-address ADDRESS (and --ssh-user, --ssh-key, --ssh-port as needed)',
      });
    }
  },
  deleteParams(started) {
    if (!started.sshIpAddress) {
      throw new UserError('PROFILE_UNKNOWN', "kubestrap does not know which machine this profile's ssh cluster is on", {
        fix: 'delete a profile that kubestrap start created (kubestrap list)',
      });
    }
    return Object.fromEntries(sshOptions.map((o) => o.key).filter((k) => started[k] !== undefined).map((k) => [k, started[k]]));
  },
};

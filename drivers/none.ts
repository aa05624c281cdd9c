// none (alias native): the cluster runs directly on this machine, as systemd services and
// containers of the chosen runtime. No isolation, so never picked automatically.
import { existsSync } from 'node:fs';
import type { Driver } from './driver.ts';
import { PRIORITY, probeLocal } from './driver.ts';

const DOC = 'https://minikube.sigs.k8s.io/docs/drivers/none/';

export const none: Driver = {
  name: 'none',
  aliases: ['native'],
  priority: PRIORITY.Discouraged,
  description: 'directly on this machine (no isolation; needs systemd and sudo)',
  options: [],
  startRecipe: 'driver-none',
  deleteRecipe: 'delete-none',
  async status() {
    if (process.platform !== 'linux') return { installed: false, healthy: false, reason: 'the none driver needs Linux', doc: DOC };
    if (!(await probeLocal('sh', ['-c', 'command -v systemctl'])).ok) {
      return { installed: false, healthy: false, reason: 'systemctl is required', fix: 'use a systemd-based Linux (Debian, Ubuntu, Fedora, …)', doc: DOC };
    }
    if (!existsSync('/run/systemd/system')) {
      return {
        installed: true,
        healthy: false,
        reason: 'systemd is not running as the init system (no /run/systemd/system)',
        fix: 'use a machine booted with systemd, or another driver',
        doc: DOC,
      };
    }
    if (process.getuid?.() !== 0 && !(await probeLocal('sudo', ['-n', 'true'])).ok) {
      return {
        installed: true,
        healthy: false,
        reason: 'running the none driver as a regular user needs sudo without a password prompt',
        fix: 'run sudo -v first, or allow this user passwordless sudo',
        doc: DOC,
      };
    }
    return { installed: true, healthy: true };
  },
  // The run kept originals of overwritten files in the profile's directory on this machine.
  deleteParams: (_started, localBackups) => ({ backupDir: localBackups }),
};

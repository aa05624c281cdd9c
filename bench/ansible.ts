// Ansible against the same sshd: an inventory, a config with pipelining, and playbooks of N tasks.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Target } from './ssh-loops.ts';
import { timeProcess } from './measure.ts';

export function ansibleVersion(): string | undefined {
  const r = spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() : undefined;
}

export interface AnsibleSetup {
  /** Wall time of one ansible-playbook run of `tasks` tasks of the given module. */
  run(module: 'command' | 'raw', tasks: number): number;
}

export function setupAnsible(dir: string, t: Target): AnsibleSetup {
  mkdirSync(dir, { recursive: true });
  const inventory = join(dir, 'inventory.ini');
  writeFileSync(inventory, `[nodes]\nnode ansible_host=${t.address} ansible_port=${t.port} ansible_user=${t.user} ansible_ssh_private_key_file=${t.key}\n`);
  const playbooks = new Map<string, string>();
  const playbook = (module: string, tasks: number) => {
    const file = join(dir, `${module}-${tasks}.yml`);
    if (!playbooks.has(file)) {
      const lines = ['- hosts: nodes', '  gather_facts: false', '  tasks:'];
      for (let i = 1; i <= tasks; i++) lines.push(`    - name: task ${i}`, `      ${module}: /bin/true`);
      writeFileSync(file, lines.join('\n') + '\n');
      playbooks.set(file, file);
    }
    return file;
  };
  let n = 0;
  return {
    run(module, tasks) {
      // A fresh control socket dir per run: each run opens its own connection, as kubestrap does.
      const cp = join(dir, `cp-${++n}`);
      mkdirSync(cp);
      const config = join(dir, `ansible-${n}.cfg`);
      writeFileSync(
        config,
        [
          '[defaults]',
          `inventory = ${inventory}`,
          'interpreter_python = /usr/bin/python3',
          `local_tmp = ${join(dir, 'local-tmp')}`,
          'retry_files_enabled = False',
          '[ssh_connection]',
          'pipelining = True',
          // Ansible's default ssh_args, plus a known_hosts of its own.
          `ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${t.knownHosts}.ansible -o StrictHostKeyChecking=accept-new`,
          `control_path_dir = ${cp}`,
          '',
        ].join('\n'),
      );
      try {
        return timeProcess(['ansible-playbook', playbook(module, tasks)], {
          cwd: dir,
          // HOME keeps ~/.ansible out of the real home directory.
          env: { ...process.env, HOME: dir, ANSIBLE_CONFIG: config, ANSIBLE_NOCOLOR: '1' },
        });
      } finally {
        stopMasters(cp);
      }
    },
  };
}

/** Ends the ControlPersist master this run left behind, through its own control socket. */
function stopMasters(cp: string): void {
  for (const name of readdirSync(cp)) {
    try {
      execFileSync('ssh', ['-O', 'exit', '-o', `ControlPath=${join(cp, name)}`, 'node'], { stdio: 'ignore' });
    } catch { /* already gone */ }
  }
  rmSync(cp, { recursive: true, force: true });
}

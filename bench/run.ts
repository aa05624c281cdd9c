// The benchmark: CLI start-up against `node -e 0`, and per-command cost over SSH against raw ssh2
// and Ansible, all against one real sshd on 127.0.0.1. Writes the figures into bench/README.md.
// Usage: npm run bench [-- --runs N --ansible-runs N --skip-ansible --skip-build --no-readme]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createTestUser, startSshd } from '../test/helpers/sshd.ts';
import { ansibleVersion, setupAnsible } from './ansible.ts';
import { median, rounds, timeProcess } from './measure.ts';
import { renderReadme, type Results } from './report.ts';
import { hostConnect, hostLoop, rawLoop, type Target } from './ssh-loops.ts';
import { countPrograms, NONE_PLAN, nonePlanArgv, seededHome, SSH_PLAN, sshPlanArgv, timeWithCpu } from './start-plans.ts';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
/** The line after which bench/README.md is not rewritten by this benchmark. */
const KEPT = '<!-- Below: not written by bench/run.ts; kept as it is. -->';
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const num = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = num('--runs', 7);
const ANSIBLE_RUNS = num('--ansible-runs', 3);
const N = 100;
const log = (s: string) => process.stderr.write(s + '\n');

/** dist/ is stale when any source file the build compiles is newer than dist/kubestrap.cjs. */
function distStale(): boolean {
  let built: number;
  try {
    built = statSync(join(root, 'dist', 'kubestrap.cjs')).mtimeMs;
  } catch {
    return true;
  }
  const newest = (p: string): number => {
    const s = statSync(p);
    if (!s.isDirectory()) return p.endsWith('.ts') ? s.mtimeMs : 0;
    return Math.max(0, ...readdirSync(p).map((n) => newest(join(p, n))));
  };
  return ['cli.ts', 'index.ts', 'cli', 'core', 'tasks', 'drivers', 'runtimes', 'options'].some((p) => {
    try {
      return newest(join(root, p)) > built;
    } catch {
      return false;
    }
  });
}

function version(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0]!.trim();
}

async function main(): Promise<void> {
  const afters: (() => unknown)[] = [];
  const hooks = {
    after: (fn: () => unknown) => {
      afters.push(fn);
    },
  };
  const tmp = mkdtempSync(join(os.tmpdir(), 'kubestrap-bench-'));
  afters.push(() => rmSync(tmp, { recursive: true, force: true }));
  const results: Results = {
    date: new Date().toISOString(),
    command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
    runs: RUNS,
    ansibleRuns: ANSIBLE_RUNS,
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    versions: { node: process.version, openssh: version(['ssh', '-V']), ansible: ansibleVersion() ?? 'not installed' },
    loadBefore: os.loadavg(),
    loadAfter: [],
    env: process.env.NODE_EXTRA_CA_CERTS ? 'NODE_EXTRA_CA_CERTS set (as on these machines)' : 'NODE_EXTRA_CA_CERTS unset',
    startup: new Map(),
    phases: new Map(),
    ssh: new Map(),
    start: new Map(),
    startCpu: new Map(),
    startNoCa: new Map(),
    programs: new Map(),
    notes: [],
  };
  try {
    // ——— (a) start-up ———
    if (!flag('--skip-build') && distStale()) {
      log('dist/ is older than the sources: npm run build');
      const b = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
      if (b.status !== 0) throw new Error(`npm run build failed:\n${b.stdout}\n${b.stderr}`);
    }
    const cli = join(root, 'bin', 'kubestrap.js');
    const hundred = join(root, 'bench', 'recipes', 'hundred.yaml');
    const planEnv = { ...process.env, KUBESTRAP_HOME: join(tmp, 'home-plan') };
    log(`start-up, ${RUNS} rounds`);
    results.startup = await rounds(RUNS, {
      'node -e 0': () => timeProcess(['node', '-e', '0']),
      'kubestrap --version': () => timeProcess(['node', cli, '--version'], { env: planEnv }),
      'kubestrap plan hundred.yaml': () => timeProcess(['node', cli, 'plan', hundred, '--set', `dir=${join(tmp, 'hundred')}`], { env: planEnv }),
    }, log);
    // The same plan, phase by phase, to show where its time goes.
    // Its types are in build.d.mts beside it.
    // deno-lint-ignore no-sloppy-imports
    const { bundle } = await import('../scripts/build.mjs');
    const phasesDir = join(tmp, 'phases-bundle');
    await bundle(['bench/startup-phases.ts'], phasesDir);
    for (let i = 0; i < RUNS; i++) {
      const r = spawnSync('node', [join(phasesDir, 'startup-phases.js'), hundred, join(tmp, 'phases'), join(root, 'recipes')], {
        encoding: 'utf8',
        env: planEnv,
      });
      if (r.status !== 0) {
        results.notes.push(`The start-up breakdown failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
        break;
      }
      for (const [k, v] of Object.entries(JSON.parse(r.stdout) as Record<string, number>)) {
        if (!results.phases.has(k)) results.phases.set(k, []);
        results.phases.get(k)!.push(v);
      }
    }

    // ——— (b) SSH ———
    const user = createTestUser(hooks);
    const sshd = await startSshd(hooks);
    const target: Target = { address: sshd.address, port: sshd.port, user: user.name, key: sshd.key, knownHosts: join(tmp, 'known_hosts') };

    // ——— (c) the workload users run: the shipped start recipe, planned ———
    const noneArgv = nonePlanArgv(cli);
    const sshArgv = sshPlanArgv(cli, target);
    const startEnv = { ...process.env, KUBESTRAP_HOME: seededHome(join(tmp, 'home-start'), noneArgv, process.env) };
    log(`start plans, ${RUNS} rounds`);
    const cpu = (k: string) => {
      if (!results.startCpu.has(k)) results.startCpu.set(k, []);
      return results.startCpu.get(k)!;
    };
    const cpuFile = join(tmp, 'cpu.txt');
    results.start = await rounds(RUNS, {
      'node -e 0': () => timeWithCpu(['node', '-e', '0'], process.env, cpuFile, cpu('node -e 0')),
      [NONE_PLAN]: () => timeWithCpu(noneArgv, startEnv, cpuFile, cpu(NONE_PLAN)),
      [SSH_PLAN]: () => timeWithCpu(sshArgv, startEnv, cpuFile, cpu(SSH_PLAN)),
    }, log);
    if (process.env.NODE_EXTRA_CA_CERTS) {
      // The same, without the certificates Node reads as it starts: what a machine without them sees.
      const { NODE_EXTRA_CA_CERTS: _certs, ...bare }: NodeJS.ProcessEnv = startEnv;
      log(`start plan without NODE_EXTRA_CA_CERTS, ${RUNS} rounds`);
      results.startNoCa = await rounds(RUNS, {
        'node -e 0': () => timeProcess(['node', '-e', '0'], { env: bare }),
        [NONE_PLAN]: () => timeProcess(noneArgv, { env: bare }),
      }, log);
    }
    for (const [name, argv] of [[NONE_PLAN, noneArgv], [SSH_PLAN, sshArgv]] as const) {
      const counted = countPrograms(argv, startEnv, join(tmp, 'strace.txt'));
      if (counted) results.programs.set(name, counted.programs);
      else results.notes.push(`strace could not count the programs of \`${name}\` (apt-get install strace).`);
    }

    const sshRecipe = join(root, 'bench', 'recipes', 'hundred-ssh.yaml');
    let runNo = 0;
    const cliRun = (only?: string) => {
      // A fresh KUBESTRAP_HOME per run: no state from an earlier run, and the host key is a first use.
      const home = join(tmp, `home-run-${++runNo}`);
      return timeProcess([
        'node',
        cli,
        'run',
        sshRecipe,
        '--yes',
        '--concurrency',
        '1',
        '--set',
        `port=${target.port}`,
        '--set',
        `user=${target.user}`,
        '--set',
        `key=${target.key}`,
        ...(only ? ['--only', only] : []),
      ], { env: { ...process.env, KUBESTRAP_HOME: home } });
    };
    log(`ssh in-process loops and CLI runs, ${RUNS} rounds`);
    const inProcess = await rounds(RUNS, {
      'raw ssh2, default socket': () => rawLoop(target, N, false),
      'raw ssh2, TCP_NODELAY': () => rawLoop(target, N, true),
      'SshHost.exec, one after another': () => hostLoop(target, N, false),
      'SshHost.exec, all at once': () => hostLoop(target, N, true),
      'SshHost.connect + close': () => hostConnect(target),
      'kubestrap run, 1 step (--only)': () => cliRun('cmd-001'),
      'kubestrap run, 100 steps': () => cliRun(),
    }, log);
    for (const [k, v] of inProcess) results.ssh.set(k, v);

    if (flag('--skip-ansible')) results.notes.push('Run with --skip-ansible: no Ansible figures.');
    else if (results.versions.ansible !== 'not installed') {
      const ansible = setupAnsible(join(tmp, 'ansible'), target);
      log(`ansible, ${ANSIBLE_RUNS} rounds`);
      const a = await rounds(ANSIBLE_RUNS, {
        'ansible-playbook, 1 command task': () => ansible.run('command', 1),
        'ansible-playbook, 100 command tasks': () => ansible.run('command', N),
        'ansible-playbook, 1 raw task': () => ansible.run('raw', 1),
        'ansible-playbook, 100 raw tasks': () => ansible.run('raw', N),
      }, log);
      for (const [k, v] of a) results.ssh.set(k, v);
    } else {
      results.notes.push('ansible-playbook is not installed (apt-get install ansible): no Ansible figures.');
    }
    results.loadAfter = os.loadavg();
  } finally {
    for (const fn of afters.reverse()) {
      try {
        await fn();
      } catch (e) {
        log(`cleanup: ${e}`);
      }
    }
  }

  const readme = renderReadme(results);
  process.stdout.write(readme);
  if (!flag('--no-readme')) {
    // What follows KEPT in the README (other benchmarks' figures, written by hand) stays as it is.
    const file = join(root, 'bench', 'README.md');
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const at = old.indexOf(KEPT);
    writeFileSync(file, at < 0 ? readme : `${readme.trimEnd()}\n\n${old.slice(at)}`);
  }
  log(`medians: ${[...results.startup, ...results.ssh].map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join('; ')}`);
}

await main();

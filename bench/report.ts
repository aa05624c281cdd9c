// Turns the benchmark's samples into bench/README.md: ratios first, raw milliseconds beside them.
import { median } from './measure.ts';

export interface Results {
  date: string;
  command: string;
  runs: number;
  ansibleRuns: number;
  machine: string;
  versions: { node: string; openssh: string; ansible: string };
  loadBefore: number[];
  loadAfter: number[];
  env: string;
  startup: Map<string, number[]>;
  /** Phases of one cold plan, in-process (bench/startup-phases.ts). */
  phases: Map<string, number[]>;
  ssh: Map<string, number[]>;
  /** `node -e 0` and the start plans, in the same rounds (bench/start-plans.ts). */
  start: Map<string, number[]>;
  /** CPU ms (user + system, children included) of the same runs. */
  startCpu: Map<string, number[]>;
  /** `node -e 0` and the none plan without NODE_EXTRA_CA_CERTS, in rounds of their own (empty when it is not set). */
  startNoCa: Map<string, number[]>;
  /** Programs each start plan ran (strace), by plan. */
  programs: Map<string, string[]>;
  notes: string[];
}

const N = 100;
const f1 = (x: number) => x.toFixed(1);
const ratio = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(2)) + '×';
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');

export function renderReadme(r: Results): string {
  const m = (map: Map<string, number[]>, k: string) => {
    const v = map.get(k);
    return v?.length ? median(v) : NaN;
  };
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push('Produced by `' + r.command + '` on ' + r.date.slice(0, 10) + ' (' + r.date + ').', '');
  out.push(`Machine: ${r.machine}; Node ${r.versions.node}; ${r.versions.openssh}; ${r.versions.ansible}; ${r.env}.`);
  out.push(
    `Load average (1/5/15 min) before: ${load(r.loadBefore)}, after: ${r.loadAfter.length ? load(r.loadAfter) : 'n/a'}. ` +
      'Other work on the machine inflates every figure; compare the ratios, which are measured in the same rounds.',
    '',
  );
  out.push(`Every figure is the median of ${r.runs} rounds (${r.ansibleRuns} for Ansible); each round runs every variant once, interleaved.`, '');

  // ——— start-up ———
  const node = m(r.startup, 'node -e 0');
  const plan = m(r.startup, 'kubestrap plan hundred.yaml');
  out.push('## Start-up: `kubestrap plan` of a 100-step recipe against `node -e 0`', '');
  out.push(
    'Goal: `node bin/kubestrap.js plan bench/recipes/hundred.yaml` (100 write-file steps into a temp dir, built JavaScript) within 2× `node -e 0`.',
    '',
  );
  out.push('| command | median ms | × `node -e 0` |', '| --- | ---: | ---: |');
  for (const [k, v] of r.startup) out.push(`| \`${k}\` | ${f1(median(v))} | ${ratio(median(v) / node)} |`);
  out.push('', `**Goal ≤ 2×: ${plan / node <= 2 ? 'met' : 'not met'}** (${ratio(plan / node)}).`, '');
  if (r.phases.size) {
    out.push(
      "Where the plan spends its time after Node has started (`bench/startup-phases.ts`: the same steps as the CLI, timed inside one fresh process; built as ES modules split at each phase, so each import is timed with its parse, which the CLI's code cache spares it):",
      '',
    );
    out.push('| phase | median ms | × `node -e 0` |', '| --- | ---: | ---: |');
    for (const [k, v] of r.phases) out.push(`| ${k} | ${f1(median(v))} | ${ratio(median(v) / node)} |`);
    out.push('');
  }

  // ——— the start plans ———
  if (r.start.size) {
    /** The median of the ratios round by round: a round's load weighs on both commands alike. */
    const pairedIn = (map: Map<string, number[]>, k: string) => {
      const base = map.get('node -e 0') ?? [];
      return median((map.get(k) ?? []).map((ms, i) => ms / base[i]!));
    };
    const paired = (k: string) => pairedIn(r.start, k);
    out.push('## The real workload: `kubestrap start --dry-run` against `node -e 0`', '');
    out.push(
      "The shipped `start` recipe planned on this machine (`--driver none --format json`) and against the benchmark's sshd " +
        '(`--driver ssh`, over loopback, as the throw-away user), with the release checksum files already in the download cache ' +
        '(as after a first plan online: this machine reaches no release server). Ratios are round by round, then the median.',
      '',
    );
    out.push('| command | median wall ms | × `node -e 0` (paired) | median CPU ms | CPU × `node -e 0` (paired) |', '| --- | ---: | ---: | ---: | ---: |');
    for (const [k, v] of r.start) {
      const c = r.startCpu.get(k);
      out.push(
        `| \`${k}\` | ${f1(median(v))} | ${ratio(paired(k))} | ${c?.length ? f1(median(c)) : ''} | ${c?.length ? ratio(pairedIn(r.startCpu, k)) : ''} |`,
      );
    }
    const none = paired('kubestrap start --driver none --dry-run --format json');
    const ssh = m(r.start, 'kubestrap start --driver ssh --dry-run');
    out.push('');
    const progs = r.programs.get('kubestrap start --driver none --dry-run --format json');
    out.push(
      `**Goal: the none plan ≤ 2× \`node -e 0\`: ${none <= 2 ? 'met' : 'not met'}** (${ratio(none)} wall; ` +
        `${
          ratio(pairedIn(r.startCpu, 'kubestrap start --driver none --dry-run --format json'))
        } CPU). Before facts were gathered once per host it was 10.7× (95 programs).`,
      '',
    );
    if (progs) {
      out.push(
        `**Goal: at most 20 programs in all: ${
          progs.length <= 20 ? 'met' : 'not met'
        }** (${progs.length}, counted with \`strace -f -e trace=execve\`, node itself included).`,
        '',
      );
    }
    out.push(`**Goal: the ssh plan ≤ 150 ms over loopback: ${ssh <= 150 ? 'met' : 'not met'}** (${f1(ssh)} ms).`, '');
    if (r.startNoCa.size) {
      const base = r.startNoCa.get('node -e 0') ?? [];
      const plan = r.startNoCa.get('kubestrap start --driver none --dry-run --format json') ?? [];
      out.push(
        'NODE_EXTRA_CA_CERTS is set on these machines, and Node reads those certificates as it starts, before any code runs: ' +
          'most of `node -e 0` here, and as much of every kubestrap run. Without it, in rounds of their own: ' +
          `\`node -e 0\` ${f1(median(base))} ms, the none plan ${f1(median(plan))} ms, ` +
          `${ratio(median(plan.map((ms, i) => ms / base[i]!)))} (paired).`,
        '',
      );
    }
    for (const [k, v] of r.programs) {
      const counts = new Map<string, number>();
      for (const p of v) counts.set(p, (counts.get(p) ?? 0) + 1);
      out.push(`Programs \`${k}\` ran here (${v.length}): ${[...counts].map(([p, n]) => (n > 1 ? `${p} ×${n}` : p)).join(', ')}.`, '');
    }
    out.push(
      "The ssh plan's commands on the far side (one gathering script, then the probes no step declared) run under that host's sshd and are not in its count.",
      '',
    );
  }

  // ——— ssh ———
  const per = (k: string) => m(r.ssh, k) / N;
  const marginal = (k100: string, k1: string) => (m(r.ssh, k100) - m(r.ssh, k1)) / (N - 1);
  const host = per('SshHost.exec, one after another');
  const rawNoDelay = per('raw ssh2, TCP_NODELAY');
  const engineTotal = per('kubestrap run, 100 steps');
  const engineMarginal = marginal('kubestrap run, 100 steps', 'kubestrap run, 1 step (--only)');
  const hasAnsible = r.ssh.has('ansible-playbook, 100 command tasks');
  const ansCmdTotal = per('ansible-playbook, 100 command tasks');
  const ansCmdMarginal = marginal('ansible-playbook, 100 command tasks', 'ansible-playbook, 1 command task');
  const ansRawTotal = per('ansible-playbook, 100 raw tasks');
  const ansRawMarginal = marginal('ansible-playbook, 100 raw tasks', 'ansible-playbook, 1 raw task');

  out.push('## 100 commands on one host over SSH', '');
  out.push(
    'One OpenSSH sshd on 127.0.0.1 (started by the benchmark, its own config), logged in as a throw-away user whose shell is `/bin/sh`, ' +
      'so no shell rc file runs per command. Every command is `/bin/true`. Ansible uses pipelining and its default ControlPersist ' +
      'connection sharing; kubestrap runs with `--concurrency 1` so both run the commands one after another.',
    '',
  );
  out.push(
    '"Per command" is the total divided by 100. For whole processes (kubestrap CLI, ansible-playbook) "marginal" is ' +
      '(time for 100 − time for 1) / 99: the cost each further command adds once the process runs and the connection is up.',
    '',
  );
  out.push('| variant | median total ms | per command ms | marginal ms per command |', '| --- | ---: | ---: | ---: |');
  const marg: Record<string, number> = {
    'kubestrap run, 100 steps': engineMarginal,
    'ansible-playbook, 100 command tasks': ansCmdMarginal,
    'ansible-playbook, 100 raw tasks': ansRawMarginal,
  };
  for (const [k, v] of r.ssh) {
    const single = k.includes(', 1 ') || k.includes('connect');
    out.push(`| ${k} | ${f1(median(v))} | ${single ? '' : f1(median(v) / N)} | ${k in marg ? f1(marg[k]!) : ''} |`);
  }
  out.push('');
  out.push('| ratio | value | goal |', '| --- | ---: | --- |');
  out.push(`| SshHost per command ÷ raw ssh2 with TCP_NODELAY (kubestrap's own overhead) | ${ratio(host / rawNoDelay)} | |`);
  out.push(`| raw ssh2 default socket ÷ with TCP_NODELAY | ${ratio(per('raw ssh2, default socket') / rawNoDelay)} | |`);
  if (hasAnsible) {
    const goal = (x: number) => `≥ 30×: ${x >= 30 ? 'met' : 'not met'}`;
    out.push(`| Ansible \`command\` marginal ÷ SshHost per command | ${ratio(ansCmdMarginal / host)} | ${goal(ansCmdMarginal / host)} |`);
    out.push(
      `| Ansible \`command\` marginal ÷ kubestrap run marginal | ${ratio(ansCmdMarginal / engineMarginal)} | ${goal(ansCmdMarginal / engineMarginal)} |`,
    );
    out.push(
      `| Ansible \`command\` per command ÷ kubestrap run per command (whole processes) | ${ratio(ansCmdTotal / engineTotal)} | ${
        goal(ansCmdTotal / engineTotal)
      } |`,
    );
    out.push(`| Ansible \`raw\` marginal ÷ SshHost per command | ${ratio(ansRawMarginal / host)} | ${goal(ansRawMarginal / host)} |`);
    out.push(`| Ansible \`raw\` marginal ÷ kubestrap run marginal | ${ratio(ansRawMarginal / engineMarginal)} | ${goal(ansRawMarginal / engineMarginal)} |`);
    out.push(
      `| Ansible \`raw\` per command ÷ kubestrap run per command (whole processes) | ${ratio(ansRawTotal / engineTotal)} | ${
        goal(ansRawTotal / engineTotal)
      } |`,
    );
  }
  out.push('');
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  out.push('## Files', '');
  out.push('- `bench/run.ts` runs everything and writes this file; `--runs N`, `--ansible-runs N`, `--skip-ansible`, `--skip-build`, `--no-readme`.');
  out.push('- `bench/recipes/hundred.yaml` (start-up), `bench/recipes/hundred-ssh.yaml` (SSH runs; port, user and key are `--set`).');
  out.push('- `bench/start-plans.ts` (the start plans, their seeded download cache, the strace count).');
  out.push('- `bench/ssh-loops.ts` (raw ssh2 and SshHost loops), `bench/ansible.ts` (inventory, config, playbooks), `bench/measure.ts`, `bench/report.ts`.');
  out.push('');
  return out.join('\n');
}

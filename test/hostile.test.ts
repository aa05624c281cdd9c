// The hostile-input suite, as a hostile user and a faulty machine would try kubestrap: values built
// to break out of every output format, secrets planted to be leaked, runs killed at many points,
// full and read-only disks, and stale locks raced. Each case states what must hold.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { type CliResult, runCli } from './helpers/cli.ts';
import { hasBinary, repoRoot, tempDir } from './helpers/env.ts';
import { bigContent } from './fixtures/hostile/tasks.ts';
import { mayHoldCredentials } from '../core/secrets.ts';
import type { PlanDocument } from '../core/plan.ts';

const TASKS = join(repoRoot, 'test/fixtures/hostile/tasks.ts');
const isRoot = process.getuid?.() === 0;
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a terminal or a comment line must never receive raw (newlines end lines and are allowed). */
const UNSAFE = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

function assertClean(out: string, what: string): void {
  const m = UNSAFE.exec(out);
  assert.equal(
    m,
    null,
    `${what}: raw control character U+${(m?.[0].codePointAt(0) ?? 0).toString(16).padStart(4, '0')} near ${
      JSON.stringify(out.slice(Math.max(0, (m?.index ?? 0) - 40), (m?.index ?? 0) + 40))
    }`,
  );
  for (const line of out.split('\n')) assert.doesNotMatch(line, /^\s*(touch|fake)\b/, `${what}: a value started a line of its own: ${JSON.stringify(line)}`);
}

// ——— injection ———

const PAYLOADS: [string, string][] = [
  ['newline and a command', 'x\ntouch MARK\n#'],
  ['carriage return and escapes that hide a line', 'x\r\x1b[2K\x1b[1Afake: run as root: nothing'],
  ['a bidi override', 'safe\u202eevil'],
  ['command substitution', '$(touch MARK)'],
  ['backticks', '`touch MARK`'],
  ['single quotes breaking out', "'; touch MARK; '"],
  ['double quotes breaking out', '"; touch MARK; "'],
  ['bell, backspace and DEL', 'a\x07\x08\x7fb'],
  ['a line separator', 'x\u2028touch MARK'],
  ['a fake comment then code', 'x\n# looks like a comment\ntouch MARK'],
];

function hostileRecipe(dir: string, name: string, remote: boolean): string {
  const file = join(dir, 'hostile.yaml');
  writeFileSync(
    file,
    `name: ${JSON.stringify(name)}
description: ${JSON.stringify(name)}
imports: [${JSON.stringify(TASKS)}]
params:
  text: { default: "" }
${
      remote
        ? `hosts:
  vm: { ssh: { address: "\${{ steps.make.outputs.stdout }}", user: "\${{ params.text }}" } }
`
        : ''
    }steps:
  - id: keep
    task: write-file
    with: { path: "${dir}/keep-\${{ params.text }}", content: "same\\n" }
  - id: echo
    task: echo-everything
    with: { text: "\${{ params.text }}", dir: "${dir}" }
  - id: make
    task: run-command
    with: { argv: [echo, 10.0.0.9], unless: [sh, -c, "exit 1", sh, "\${{ params.text }}"] }
${
      remote
        ? `  - id: remote
    task: write-file
    host: vm
    with: { path: "${dir}/remote-file", content: "x\\n" }
    needs: [make]
`
        : ''
    }`,
  );
  return file;
}

interface Injection {
  dir: string;
  value: string;
  mark: string;
  file: string;
  run(argv: string[]): Promise<CliResult>;
}

function injection(t: { after(fn: () => void): void }, raw: string, remote = true): Injection {
  const dir = tempDir(t, 'kubestrap-hostile-');
  const mark = join(dir, 'mark');
  const value = raw.replaceAll('MARK', mark);
  // The unchanged write's target exists with the same content: its path is printed as "keep".
  const keep = join(dir, `keep-${value}`);
  mkdirSync(dirname(keep), { recursive: true });
  writeFileSync(keep, 'same\n');
  const file = hostileRecipe(dir, `r ${value}`, remote);
  const env = { KUBESTRAP_HOME: join(dir, 'home') };
  return { dir, value, mark, file, run: (argv) => runCli(argv, { env, cwd: dir }) };
}

describe('injection: a value never escapes its place in any output', () => {
  for (const [label, raw] of PAYLOADS) {
    it(`plan text: ${label}`, async (t) => {
      const x = injection(t, raw);
      const r = await x.run(['plan', x.file, '--set', `text=${x.value}`]);
      assert.equal(r.code, 0, r.stderr);
      assertClean(r.stdout, 'plan text');
      assertClean(r.stderr, 'stderr');
      assert.match(r.stdout, /Read while planning/);
      assert.equal(existsSync(x.mark), false, 'the plan ran the value');
    });

    it(`plan --format sh (bash -n, shellcheck, then run by bash): ${label}`, async (t) => {
      const x = injection(t, raw);
      const r = await x.run(['plan', x.file, '--set', `text=${x.value}`, '--format', 'sh']);
      assert.equal(r.code, 0, r.stderr);
      for (const line of r.stdout.split('\n')) if (line.startsWith('#')) assertClean(line, 'a comment line');
      execFileSync('bash', ['-n'], { input: r.stdout });
      if (hasBinary('shellcheck')) {
        const lint = spawnSync('shellcheck', ['-s', 'bash', '-S', 'warning', '-'], { input: r.stdout, encoding: 'utf8' });
        assert.equal(lint.status, 0, lint.stdout);
      }
      const ran = spawnSync('bash', ['-c', r.stdout], { cwd: x.dir, encoding: 'utf8' });
      // It stops at the step whose machine an earlier step creates, and says so.
      assert.equal(ran.status, 1, ran.stderr);
      assert.match(
        ran.stderr,
        /(step remote runs on .*a machine an earlier step creates|is created by step make: its steps run through kubestrap apply); use kubestrap apply/,
      );
      assert.equal(existsSync(join(x.dir, 'remote-file')), false, 'the remote step ran on this machine');
      assert.equal(existsSync(x.mark), false, 'the script ran the value');
    });

    it(`plan --format json keeps the value exactly: ${label}`, async (t) => {
      const x = injection(t, raw);
      const r = await x.run(['plan', x.file, '--set', `text=${x.value}`, '--format', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const plan = JSON.parse(r.stdout) as PlanDocument;
      const listen = plan.steps.find((s) => s.id === 'echo')!.effects.find((e) => e.kind === 'listen');
      assert.deepEqual(listen && 'component' in listen ? [listen.component, listen.address] : [], [x.value, x.value]);
      assert.equal(plan.params.text, x.value);
      assert.equal(existsSync(x.mark), false);
    });

    it(`--json events are one JSON object per line: ${label}`, async (t) => {
      const x = injection(t, raw);
      const r = await x.run(['plan', x.file, '--set', `text=${x.value}`, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l);
      assert.ok(lines.some((l) => (JSON.parse(l) as { type: string; note?: { message: string } }).note?.message === x.value));
    });

    it(`run output with --verbose (command output lines too): ${label}`, async (t) => {
      const x = injection(t, raw, false);
      const r = await x.run(['run', x.file, '--set', `text=${x.value}`, '--yes', '-v']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assertClean(r.stdout, 'run output');
      assertClean(r.stderr, 'stderr');
      assert.equal(existsSync(x.mark), false);
    });

    it(`an error line that quotes the value: ${label}`, async (t) => {
      const x = injection(t, raw, false);
      const f = join(x.dir, 'fail.yaml');
      writeFileSync(
        f,
        `name: fail\nparams:\n  text: { default: "" }\nsteps:\n  - id: fail\n    task: run-command\n    with: { argv: [sh, -c, 'printf "%s" "$1" >&2; exit 3', sh, "\${{ params.text }}"] }\n`,
      );
      const r = await x.run(['run', f, '--set', `text=${x.value}`, '--yes']);
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stdout, /✗ fail: .*exited 3/);
      assertClean(r.stdout, 'run output');
      assertClean(r.stderr, 'stderr');
    });

    it(`graph text, dot and mermaid: ${label}`, async (t) => {
      const x = injection(t, raw);
      for (const format of ['text', 'mermaid', 'dot']) {
        const r = await x.run(['graph', x.file, '--format', format]);
        assert.equal(r.code, 0, r.stderr);
        assertClean(r.stdout, `graph ${format}`);
      }
    });

    it(`status and list of a profile whose run recorded the value: ${label}`, async (t) => {
      const x = injection(t, raw, false);
      assert.equal((await x.run(['run', x.file, '--set', `text=${x.value}`, '--yes'])).code, 0);
      for (const argv of [['status'], ['list']]) {
        const r = await x.run(argv);
        assertClean(r.stdout, argv[0]!);
      }
    });
  }

  it('package, unit and owner names that would be options are refused (exit 2), nothing runs', async (t) => {
    const dir = tempDir(t, 'kubestrap-hostile-');
    const cases: [string, string, RegExp][] = [
      ['install-packages', '{ names: ["-oDpkg::Pre-Invoke::=touch x"] }', /package name "-oDpkg::Pre-Invoke::=touch x" is not valid/],
      ['manage-service', '{ name: "--root" }', /parameter 'name' of task 'manage-service' must match/],
      ['write-file', `{ path: "${dir}/o", content: x, owner: "--reference=/etc/shadow" }`, /owner name "--reference=\/etc\/shadow" is not valid/],
    ];
    for (const [task, withs, message] of cases) {
      writeFileSync(join(dir, 'r.yaml'), `name: names\nsteps:\n  - id: s\n    task: ${task}\n    with: ${withs}\n`);
      const r = await runCli(['plan', join(dir, 'r.yaml')], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
      assert.equal(r.code, 2, `${task}: ${r.stderr}${r.stdout}`);
      assert.match(r.stdout + r.stderr, message);
    }
  });

  it('a value shaped like a placeholder is not one: --set refuses it, and a pattern still applies', async (t) => {
    const dir = tempDir(t, 'kubestrap-hostile-');
    writeFileSync(
      join(dir, 'r.yaml'),
      `name: ph\nparams:\n  name: { default: a }\nsteps:\n  - id: s\n    task: write-file\n    with: { path: "${dir}/x", content: "\${{ params.name }}" }\n`,
    );
    const r = await runCli(['plan', join(dir, 'r.yaml'), '--set', 'name=<output of /../../x>'], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /may not contain <output of …>/);
  });

  it("names and ids stay strings: -p 007 is profile 007, --only 007 is step 007, -p '' is refused", async (t) => {
    const dir = tempDir(t, 'kubestrap-hostile-');
    writeFileSync(
      join(dir, 'r.yaml'),
      `name: ids\nsteps:\n  - { id: "7", task: write-file, with: { path: "${dir}/seven", content: x } }\n  - { id: "007", task: write-file, with: { path: "${dir}/double-o", content: x } }\n`,
    );
    const env = { KUBESTRAP_HOME: join(dir, 'home') };
    const r = await runCli(['run', join(dir, 'r.yaml'), '--yes', '-p', '007', '--only', '007'], { env, cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(join(dir, 'double-o')), true);
    assert.equal(existsSync(join(dir, 'seven')), false, '--only 007 ran step 7');
    assert.deepEqual(readdirSync(join(dir, 'home/profiles')), ['007']);
    const empty = await runCli(['plan', join(dir, 'r.yaml'), '-p', ''], { env, cwd: dir });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /profile name "" is not valid/);
  });

  it('two steps that write one file with no order between them: the plan is blocked, a run refuses', async (t) => {
    const dir = tempDir(t, 'kubestrap-hostile-');
    writeFileSync(
      join(dir, 'r.yaml'),
      `name: race\nsteps:\n  - { id: a, task: write-file, with: { path: "${dir}/f", content: a } }\n  - { id: b, task: write-file, with: { path: "${dir}/f", content: b } }\n`,
    );
    const env = { KUBESTRAP_HOME: join(dir, 'home') };
    const p = await runCli(['plan', join(dir, 'r.yaml')], { env, cwd: dir });
    assert.match(p.stdout, /steps 'a' and 'b' both change .*\/f and neither needs the other.*\[WRITERS_UNORDERED\]/);
    const r = await runCli(['run', join(dir, 'r.yaml'), '--yes'], { env, cwd: dir });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /PLAN_BLOCKED/);
    assert.equal(existsSync(join(dir, 'f')), false);
  });
});

// ——— recipe probes ———

describe('a plan runs no command the recipe supplied unless allowed, and lists every command it runs', () => {
  const recipe = (dir: string) => {
    writeFileSync(
      join(dir, 'r.yaml'),
      `name: probes\nsteps:\n  - id: s\n    task: run-command\n    with: { argv: [touch, "${dir}/ran"], unless: [sh, -c, 'id -un > "$1"; exit 1', sh, "${dir}/marker"] }\n`,
    );
    return join(dir, 'r.yaml');
  };
  for (const format of ['text', 'json', 'sh']) {
    it(`plan --format ${format}: unless is not run, and the plan says it was not`, async (t) => {
      const dir = tempDir(t, 'kubestrap-probe-');
      const r = await runCli(['plan', recipe(dir), '--format', format], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(existsSync(join(dir, 'marker')), false, "the recipe's unless ran while planning");
      assert.match(
        r.stdout,
        format === 'json' ? /"notRun": true/ : format === 'sh' ? /# not run while planning \(from the recipe\): sh -c/ : /not run: sh -c 'id -un/,
      );
    });
  }
  it('--allow-recipe-probes runs it, records that in the plan, and apply keeps to it', async (t) => {
    const dir = tempDir(t, 'kubestrap-probe-');
    const env = { KUBESTRAP_HOME: join(dir, 'home') };
    const r = await runCli(['plan', recipe(dir), '--allow-recipe-probes', '--out', 'p.json'], { env, cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'marker'), 'utf8').trim(), os.userInfo().username);
    assert.equal((JSON.parse(readFileSync(join(dir, 'p.json'), 'utf8')) as PlanDocument).recipeProbes, true);
    const a = await runCli(['apply', 'p.json', '--yes'], { env, cwd: dir });
    assert.equal(a.code, 0, a.stderr + a.stdout);
    assert.equal(existsSync(join(dir, 'ran')), true);
  });
});

// ——— secrets ———

const TOKEN = 'abcdef.0123456789abcdef';
const PASSWORD = 'hunter2-REGISTRY-PASSWORD';

function secretWorkspace(t: { after(fn: () => void): void }) {
  const dir = tempDir(t, 'kubestrap-secret-');
  mkdirSync(join(dir, 'auth'));
  // A credentials file the user already has: its old content must never be shown.
  writeFileSync(join(dir, 'auth/registry.conf'), `user = "me"\npassword = "${PASSWORD}"\n`);
  writeFileSync(
    join(dir, 'r.yaml'),
    `name: secrets
params:
  token: { default: "", secret: true }
steps:
  - id: join
    task: run-command
    with: { argv: [sh, -c, 'echo "joining with $1"; echo "token $1" >&2', sh, "\${{ params.token }}"] }
  - id: conf
    task: write-file
    with: { path: "${dir}/out/kubelet.env", content: "TOKEN=\${{ params.token }}\\n" }
  - id: registry
    task: write-file
    with: { path: "${dir}/auth/registry.conf", content: "user = \\"me\\"\\n" }
`,
  );
  const env = { KUBESTRAP_HOME: join(dir, 'home') };
  const cli = (argv: string[]) => runCli(argv, { env, cwd: dir });
  const noLeak = (text: string, what: string) => {
    assert.ok(!text.includes(TOKEN), `${what} shows the token`);
    assert.ok(!text.includes(PASSWORD), `${what} shows the password`);
  };
  return { dir, file: join(dir, 'r.yaml'), cli, noLeak };
}

describe('secrets: the planted token and password appear in no output and no state file', () => {
  for (const format of ['text', 'json', 'sh']) {
    it(`plan --format ${format}`, async (t) => {
      const w = secretWorkspace(t);
      const r = await w.cli(['plan', w.file, '--set', `token=${TOKEN}`, '--format', format]);
      assert.equal(r.code, 0, r.stderr);
      w.noLeak(r.stdout + r.stderr, `plan ${format}`);
      assert.match(r.stdout, /<secret:token>/);
      if (format === 'sh') assert.match(r.stdout, /withheld '.*kubelet\.env is a secret'/);
    });
  }

  it('plan --json events and the --out file', async (t) => {
    const w = secretWorkspace(t);
    const r = await w.cli(['plan', w.file, '--set', `token=${TOKEN}`, '--json', '--out', 'p.json']);
    assert.equal(r.code, 0, r.stderr);
    w.noLeak(r.stdout, 'events');
    w.noLeak(readFileSync(join(w.dir, 'p.json'), 'utf8'), 'the saved plan');
  });

  it('the diff of a credentials file says where it changes, not what', async (t) => {
    const w = secretWorkspace(t);
    const r = await w.cli(['plan', w.file, '--set', `token=${TOKEN}`]);
    assert.match(r.stdout, /content not shown: the file may hold credentials; changed at -1,2 \+1/);
  });

  it('run --verbose output, run --json events, state.json, status and the profile directory', async (t) => {
    const w = secretWorkspace(t);
    const r = await w.cli(['run', w.file, '--set', `token=${TOKEN}`, '--yes', '-v']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    w.noLeak(r.stdout + r.stderr, 'run output');
    assert.match(r.stdout, /join \| joining with <secret:token>/);
    const j = await w.cli(['run', w.file, '--set', `token=${TOKEN}`, '--yes', '--json']);
    w.noLeak(j.stdout + j.stderr, 'run --json');
    const s = await w.cli(['status', '--json']);
    w.noLeak(s.stdout, 'status');
    // Everything kubestrap keeps, except the backup of the user's own file (a copy of it, mode kept).
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]);
    for (const f of walk(join(w.dir, 'home')).filter((f) => !f.includes('/backups/'))) w.noLeak(readFileSync(f, 'utf8'), f);
    // The file itself holds the real token: redaction is of what is shown, not of what is written.
    assert.equal(readFileSync(join(w.dir, 'out/kubelet.env'), 'utf8'), `TOKEN=${TOKEN}\n`);
  });

  it('an error that quotes the secret (a failing command, a pattern mismatch)', async (t) => {
    const w = secretWorkspace(t);
    writeFileSync(
      join(w.dir, 'fail.yaml'),
      `name: fail\nparams:\n  token: { default: "", secret: true }\nsteps:\n  - id: f\n    task: run-command\n    with: { argv: [sh, -c, 'echo "bad $1" >&2; exit 4', sh, "\${{ params.token }}"] }\n  - id: g\n    task: write-file\n    with: { path: "${w.dir}/g", content: x, mode: "\${{ params.token }}" }\n`,
    );
    const r = await w.cli(['run', join(w.dir, 'fail.yaml'), '--set', `token=${TOKEN}`, '--yes']);
    assert.notEqual(r.code, 0);
    w.noLeak(r.stdout + r.stderr, 'errors');
    assert.match(r.stdout + r.stderr, /<secret:token>/);
  });

  it('a secret --set of the wrong type is refused without echoing it', async (t) => {
    const w = secretWorkspace(t);
    writeFileSync(
      join(w.dir, 'n.yaml'),
      'name: n\nparams:\n  pin: { default: 0, secret: true }\nsteps:\n  - { id: s, task: run-command, with: { argv: [true] } }\n',
    );
    const r = await w.cli(['plan', join(w.dir, 'n.yaml'), '--set', `pin=${TOKEN}`]);
    assert.equal(r.code, 2);
    w.noLeak(r.stderr, 'the error');
  });

  it('apply of a plan with a hidden secret asks for it again, and runs with it', async (t) => {
    const w = secretWorkspace(t);
    assert.equal((await w.cli(['plan', w.file, '--set', `token=${TOKEN}`, '--out', 'p.json'])).code, 0);
    const missing = await w.cli(['apply', 'p.json', '--yes']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /hides the secret parameter 'token'.*--set token=…\) \[SECRET_NEEDED\]/);
    const other = await w.cli(['apply', 'p.json', '--yes', '--set', 'x=1']);
    assert.match(other.stderr, /apply takes --set only for the secret parameters/);
    const a = await w.cli(['apply', 'p.json', '--yes', '--set', `token=${TOKEN}`]);
    assert.equal(a.code, 0, a.stderr + a.stdout);
    w.noLeak(a.stdout + a.stderr, 'apply');
    assert.equal(readFileSync(join(w.dir, 'out/kubelet.env'), 'utf8'), `TOKEN=${TOKEN}\n`);
  });

  const paths: [string, boolean][] = [
    ['/etc/containerd/config.toml', true],
    ['/etc/kubernetes/admin.conf', true],
    ['/etc/kubernetes/pki/ca.key', true],
    ['/home/u/.kube/config', true],
    ['/root/.docker/config.json', true],
    ['/etc/containers/auth.json', true],
    ['/srv/auth/htpasswd', true],
    ['/etc/motd', false],
    ['/etc/sysctl.d/99-kubestrap.conf', false],
  ];
  for (const [path, held] of paths) {
    it(`${path} ${held ? 'may hold credentials: diff not shown' : 'is shown as a diff'}`, () => {
      assert.equal(mayHoldCredentials(path), held);
    });
  }
});

// ——— faults: real processes ———

function cliProcess(args: string[], env: Record<string, string>, cwd: string) {
  const child = spawn('node', ['--import', 'tsx', join(repoRoot, 'cli.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env, NO_COLOR: '1', NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  void cwd;
  let out = '';
  let lines = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d;
    lines = out.split('\n').length - 1;
    for (const w of waiters.splice(0)) {
      if (lines >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d;
  });
  const exited = new Promise<number | string | null>((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  return {
    child,
    exited,
    output: () => out,
    /** Resolves once stdout has n lines (or the process ended). */
    lines: (n: number) =>
      new Promise<void>((resolve) => {
        if (lines >= n) resolve();
        else {
          waiters.push({ n, resolve });
          void exited.then(() => resolve());
        }
      }),
  };
}

/** Processes whose command line names this directory (a write script outliving a killed run). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) pids.push(Number(p));
    } catch { /* gone */ }
  }
  return pids;
}

async function settle(dir: string): Promise<void> {
  for (let i = 0; i < 200 && processesUsing(dir).length; i++) await sleep(25);
  const left = processesUsing(dir);
  for (const p of left) {
    try {
      process.kill(p, 'SIGKILL');
    } catch { /* gone */ }
  }
  assert.deepEqual(left, [], 'a command of the killed run was still running 5 s later');
}

function faultWorkspace(t: { after(fn: () => void): void }) {
  const dir = tempDir(t, 'kubestrap-fault-');
  const d = join(dir, 'target');
  mkdirSync(d);
  writeFileSync(join(d, 'big.bin'), 'old big\n');
  writeFileSync(join(d, 'second.txt'), 'second old\n');
  writeFileSync(
    join(dir, 'r.yaml'),
    `name: faults
imports: [${JSON.stringify(TASKS)}]
steps:
  - { id: first, task: write-file, with: { path: "${d}/first.txt", content: "first new\\n" } }
  - { id: big, task: big-write, with: { path: "${d}/big.bin", mib: 40, seed: 3 }, needs: [first] }
  - { id: second, task: write-file, with: { path: "${d}/second.txt", content: "second new\\n" }, needs: [big] }
  - { id: big2, task: big-write, with: { path: "${d}/big2.bin", mib: 24, seed: 9 }, needs: [second] }
`,
  );
  const expected: Record<string, string[]> = {
    'first.txt': ['', sha('first new\n')],
    'big.bin': [sha('old big\n'), sha(bigContent(40, 3))],
    'second.txt': [sha('second old\n'), sha('second new\n')],
    'big2.bin': ['', sha(bigContent(24, 9))],
  };
  const check = (what: string) => {
    const names = readdirSync(d);
    assert.deepEqual(names.filter((n) => n.startsWith('.kubestrap.')), [], `${what}: a temp file was left`);
    for (const [name, allowed] of Object.entries(expected)) {
      const got = existsSync(join(d, name)) ? sha(readFileSync(join(d, name))) : '';
      if (!allowed.includes(got)) assert.fail(`${what}: ${name} is neither the old nor the new file (a prefix?) — ${statSync(join(d, name)).size} bytes`);
    }
  };
  return { dir, d, file: join(dir, 'r.yaml'), env: { KUBESTRAP_HOME: join(dir, 'home') }, check, expected };
}

describe('faults: kill -9 at 20 points of a real run leaves each file old or new, never a prefix, no temp file', () => {
  // A point is the n-th line of --json output (the plan, then one event per line) plus a delay. Line 7
  // is the 40 MiB write starting (it takes about a second here), line 13 the 24 MiB one.
  const points: [number, number][] = [
    [1, 0],
    [2, 0],
    [3, 0],
    [4, 0],
    [5, 0],
    [6, 0],
    [7, 0],
    [7, 100],
    [7, 250],
    [7, 500],
    [7, 800],
    [7, 1100],
    [8, 0],
    [9, 0],
    [10, 0],
    [11, 0],
    [12, 0],
    [13, 0],
    [13, 150],
    [13, 350],
    [14, 0],
  ];
  const seen = new Set<string>();
  for (const [n, delay] of points) {
    it(`kill -9 after output line ${n} + ${delay} ms`, async (t) => {
      const w = faultWorkspace(t);
      const p = cliProcess(['run', w.file, '--yes', '--json'], w.env, w.dir);
      try {
        await p.lines(n);
        if (delay) await sleep(delay);
        p.child.kill('SIGKILL');
        await p.exited;
      } finally {
        p.child.kill('SIGKILL');
      }
      await settle(w.dir);
      w.check(`killed at line ${n} + ${delay} ms`);
      if (n === 7 || n === 13) {
        seen.add(
          `${n}:${existsSync(join(w.d, n === 7 ? 'big.bin' : 'big2.bin')) && statSync(join(w.d, n === 7 ? 'big.bin' : 'big2.bin')).size > 100 ? 'new' : 'old'}`,
        );
      }
      if (n % 3 === 0 && delay === 0 || (n === 7 && delay === 500)) {
        // The next run takes over the dead run's lock and finishes the job.
        const r = await runCli(['run', w.file, '--yes'], { env: w.env, cwd: w.dir });
        assert.equal(r.code, 0, r.stderr + r.stdout);
        for (const [name, [, fresh]] of Object.entries(w.expected)) assert.equal(sha(readFileSync(join(w.d, name))), fresh, name);
      }
    });
  }
  it('some of those kills landed in the middle of a large write (the old file stayed)', () => {
    assert.ok(seen.has('7:old') || seen.has('13:old'), `kills at lines 7 and 13 found: ${[...seen].join(', ')}`);
  });
});

describe('faults: signals, full and read-only disks, odd files', () => {
  for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${signal} is handled like Ctrl-C: the command stopped, exit ${code}, lock freed, state saved`, async (t) => {
      const dir = tempDir(t, 'kubestrap-signal-');
      const pidFile = join(dir, 'slow.pid');
      writeFileSync(
        join(dir, 'slow.yaml'),
        `name: slow\nsteps:\n  - id: slow\n    task: run-command\n    with: { argv: [sh, -c, 'echo $$ > "$1"; exec sleep 30', sh, "${pidFile}"] }\n`,
      );
      const env = { KUBESTRAP_HOME: join(dir, 'home') };
      const p = cliProcess(['run', join(dir, 'slow.yaml'), '--yes'], env, dir);
      let pid = 0;
      try {
        for (let i = 0; i < 800 && !pid; i++) {
          await sleep(25);
          if (existsSync(pidFile)) pid = Number(readFileSync(pidFile, 'utf8').trim()) || 0;
        }
        assert.ok(pid, p.output());
        p.child.kill(signal);
        const got = await Promise.race([p.exited, sleep(8000).then(() => 'timeout')]);
        // Deno's node:child_process reports a child that exits 128+n after kill(signal) as killed by it.
        assert.equal(got === signal && 'Deno' in globalThis ? code : got, code, p.output());
        assert.match(p.output(), new RegExp(`interrupting: stopping running commands \\(${signal}`));
        for (let i = 0; i < 100 && existsSync(`/proc/${pid}`) && !/\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); i++) await sleep(20);
        assert.ok(!existsSync(`/proc/${pid}`) || /\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')), 'the command still runs');
        assert.equal(existsSync(join(dir, 'home/profiles/kubestrap/lock')), false);
        assert.equal(JSON.parse(readFileSync(join(dir, 'home/profiles/kubestrap/state.json'), 'utf8')).status, 'interrupted');
      } finally {
        p.child.kill('SIGKILL');
        if (pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch { /* gone */ }
        }
      }
    });
  }

  it('after kill -9, a command the dead run started still runs: the next run refuses, naming it, until it ends', async (t) => {
    const dir = tempDir(t, 'kubestrap-orphan-');
    const pidFile = join(dir, 'slow.pid');
    writeFileSync(
      join(dir, 'slow.yaml'),
      `name: slow\nsteps:\n  - id: slow\n    task: run-command\n    with: { argv: [sh, -c, 'echo $$ > "$1"; exec sleep 30', sh, "${pidFile}"], creates: "${dir}/done" }\n`,
    );
    const env = { KUBESTRAP_HOME: join(dir, 'home') };
    const p = cliProcess(['run', join(dir, 'slow.yaml'), '--yes'], env, dir);
    let pid = 0;
    try {
      for (let i = 0; i < 800 && !pid; i++) {
        await sleep(25);
        if (existsSync(pidFile)) pid = Number(readFileSync(pidFile, 'utf8').trim()) || 0;
      }
      assert.ok(pid, p.output());
      p.child.kill('SIGKILL');
      await p.exited;
      const r = await runCli(['run', join(dir, 'slow.yaml'), '--yes'], { env, cwd: dir });
      assert.equal(r.code, 3, r.stderr + r.stdout);
      assert.match(r.stderr, new RegExp(`commands it started still run: .*pid ${pid} \\(sleep 30\\).*kill [0-9 ]*${pid}.*\\[PROFILE_ORPHANS\\]`));
      process.kill(pid, 'SIGKILL');
      await sleep(500); // the shell around it ends with it
      writeFileSync(join(dir, 'done'), '');
      const again = await runCli(['run', join(dir, 'slow.yaml'), '--yes'], { env, cwd: dir });
      assert.equal(again.code, 0, again.stderr + again.stdout);
    } finally {
      p.child.kill('SIGKILL');
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* gone */ }
      }
    }
  });

  /** A small tmpfs mounted for the test (and unmounted after), filled up to `free` bytes. */
  async function withTmpfs(
    t: { after(fn: () => void): void },
    opts: { size: string; ro?: boolean; fill?: boolean },
    fn: (mnt: string) => Promise<void>,
  ): Promise<void> {
    const mnt = tempDir(t, 'kubestrap-tmpfs-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.size}${opts.ro ? ',ro' : ''}`, 'tmpfs', mnt]);
    try {
      if (opts.fill) spawnSync('sh', ['-c', 'cat /dev/zero > "$1/fill" 2>/dev/null', 'sh', mnt]);
      await fn(mnt);
    } finally {
      execFileSync('umount', [mnt]);
    }
  }
  const rootOnly = isRoot ? {} : { skip: 'needs root to mount a tmpfs' };

  it('a full disk under KUBESTRAP_HOME: a clear error (exit 2), no empty lock, nothing run', rootOnly, async (t) => {
    const dir = tempDir(t, 'kubestrap-full-');
    writeFileSync(join(dir, 'r.yaml'), `name: full\nsteps:\n  - { id: s, task: write-file, with: { path: "${dir}/out", content: x } }\n`);
    await withTmpfs(t, { size: '64k' }, async (mnt) => {
      mkdirSync(join(mnt, 'profiles/kubestrap'), { recursive: true });
      spawnSync('sh', ['-c', 'cat /dev/zero > "$1/fill" 2>/dev/null', 'sh', mnt]);
      const r = await runCli(['run', join(dir, 'r.yaml'), '--yes'], { env: { KUBESTRAP_HOME: mnt }, cwd: dir });
      assert.equal(r.code, 2, r.stderr + r.stdout);
      assert.match(r.stderr, /cannot take the lock of profile 'kubestrap' .*the disk is full .*\[PROFILE_UNWRITABLE\]/);
      assert.deepEqual(readdirSync(join(mnt, 'profiles/kubestrap')), [], 'a lock or temp file was left');
      assert.equal(existsSync(join(dir, 'out')), false);
    });
  });

  it('a full disk under the target: the step fails, the old file stays, no temp file', rootOnly, async (t) => {
    const dir = tempDir(t, 'kubestrap-full-');
    await withTmpfs(t, { size: '256k' }, async (mnt) => {
      writeFileSync(join(mnt, 'conf'), 'old\n');
      spawnSync('sh', ['-c', 'cat /dev/zero > "$1/fill" 2>/dev/null', 'sh', mnt]);
      writeFileSync(
        join(dir, 'r.yaml'),
        `name: full\nsteps:\n  - { id: s, task: write-file, with: { path: "${mnt}/conf", content: "${'y'.repeat(20000)}" } }\n`,
      );
      const r = await runCli(['run', join(dir, 'r.yaml'), '--yes'], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stdout, /✗ s: .*(No space left|got \d+ of 20000 bytes)/);
      assert.equal(readFileSync(join(mnt, 'conf'), 'utf8'), 'old\n');
      assert.deepEqual(readdirSync(mnt).filter((n) => n.startsWith('.kubestrap.')), []);
    });
  });

  it('plan --out on a full disk, and --out to a directory: one-line errors, exit 2', rootOnly, async (t) => {
    const dir = tempDir(t, 'kubestrap-full-');
    writeFileSync(join(dir, 'r.yaml'), `name: out\nsteps:\n  - { id: s, task: write-file, with: { path: "${dir}/o", content: x } }\n`);
    await withTmpfs(t, { size: '64k', fill: true }, async (mnt) => {
      const r = await runCli(['plan', join(dir, 'r.yaml'), '--out', join(mnt, 'p.json')], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /cannot write .*p\.json: the disk is full \(.*\) \[OUT_UNWRITABLE\]/);
      assert.deepEqual(readdirSync(mnt), ['fill']);
    });
    const d = await runCli(['plan', join(dir, 'r.yaml'), '--out', dir], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.equal(d.code, 2);
    assert.match(d.stderr, /cannot write .*: it is a directory .*\[OUT_UNWRITABLE\]/);
  });

  it('a read-only KUBESTRAP_HOME: plan works, run is refused with the reason', rootOnly, async (t) => {
    const dir = tempDir(t, 'kubestrap-ro-');
    writeFileSync(join(dir, 'r.yaml'), `name: ro\nsteps:\n  - { id: s, task: write-file, with: { path: "${dir}/o", content: x } }\n`);
    await withTmpfs(t, { size: '64k', ro: true }, async (mnt) => {
      const p = await runCli(['plan', join(dir, 'r.yaml')], { env: { KUBESTRAP_HOME: mnt }, cwd: dir });
      assert.equal(p.code, 0, p.stderr);
      const r = await runCli(['run', join(dir, 'r.yaml'), '--yes'], { env: { KUBESTRAP_HOME: mnt }, cwd: dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /the file system is read-only .*\[PROFILE_UNWRITABLE\]/);
      assert.doesNotMatch(r.stderr, /internal error/);
    });
  });

  for (const [what, path] of [['/dev/zero', '/dev/zero'], ['a FIFO', 'FIFO'], ['a directory', 'DIR']] as const) {
    it(`${what} as a recipe: refused at once (exit 2)`, async (t) => {
      const dir = tempDir(t, 'kubestrap-odd-');
      let file = path as string;
      if (path === 'FIFO') {
        file = join(dir, 'fifo.yaml');
        execFileSync('mkfifo', [file]);
      }
      if (path === 'DIR') {
        file = join(dir, 'd.yaml');
        mkdirSync(file);
      }
      const r = await runCli(['plan', file], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is not a regular file .*\[RECIPE_INVALID\]/);
    });
  }

  it('a FIFO as a task file: refused at once (exit 2)', async (t) => {
    const dir = tempDir(t, 'kubestrap-odd-');
    execFileSync('mkfifo', [join(dir, 'tasks.ts')]);
    writeFileSync(join(dir, 'r.yaml'), `name: x\nsteps:\n  - { id: s, task: run-command, with: { argv: [true] } }\n`);
    const r = await runCli(['plan', join(dir, 'r.yaml'), '--tasks', join(dir, 'tasks.ts')], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not a regular file \(give a \.ts or \.js file\) \[TASK_FILE_INVALID\]/);
  });

  it('a recursive YAML alias and prototype keys: one-line errors', async (t) => {
    const dir = tempDir(t, 'kubestrap-odd-');
    writeFileSync(join(dir, 'a.yaml'), 'name: a\nparams:\n  p: &b [*b]\nsteps:\n  - { id: s, task: run-command, with: { argv: [true] } }\n');
    writeFileSync(join(dir, 'b.yaml'), 'name: b\nparams:\n  constructor: 1\nsteps:\n  - { id: s, task: run-command, with: { argv: [true] } }\n');
    writeFileSync(join(dir, 'c.yaml'), 'name: c\nsteps:\n  - { id: s, task: run-command, with: { argv: [true], constructor: 1 } }\n');
    const env = { KUBESTRAP_HOME: join(dir, 'home') };
    const a = await runCli(['plan', join(dir, 'a.yaml')], { env, cwd: dir });
    assert.match(a.stderr, /an alias refers to itself .*\[RECIPE_YAML\]/);
    const b = await runCli(['plan', join(dir, 'b.yaml')], { env, cwd: dir });
    assert.match(b.stderr, /parameter name 'constructor' is not valid/);
    const c = await runCli(['plan', join(dir, 'c.yaml')], { env, cwd: dir });
    assert.match(c.stderr, /has no parameter 'constructor' .*\[PARAM_UNKNOWN\]/);
    for (const r of [a, b, c]) {
      assert.equal(r.code, 2);
      assert.doesNotMatch(r.stderr, /internal error/);
    }
  });

  it('a value from the environment that looks like an expression is taken literally, not evaluated again', async (t) => {
    const dir = tempDir(t, 'kubestrap-odd-');
    writeFileSync(
      join(dir, 'r.yaml'),
      `name: env\nparams:\n  v: { default: "\${{ env.KUBESTRAP_EVIL }}" }\nsteps:\n  - { id: s, task: write-file, with: { path: "${dir}/out", content: "\${{ params.v }}" } }\n`,
    );
    const r = await runCli(['run', join(dir, 'r.yaml'), '--yes'], { env: { KUBESTRAP_HOME: join(dir, 'home'), KUBESTRAP_EVIL: '${{ env.HOME }}' }, cwd: dir });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(readFileSync(join(dir, 'out'), 'utf8'), '${{ env.HOME }}');
  });

  it('a parameter default of the wrong declared type is refused where it is written', async (t) => {
    const dir = tempDir(t, 'kubestrap-odd-');
    writeFileSync(
      join(dir, 'r.yaml'),
      'name: d\nparams:\n  n: { type: number, default: "abc" }\nsteps:\n  - { id: s, task: run-command, with: { argv: [true] } }\n',
    );
    const r = await runCli(['plan', join(dir, 'r.yaml')], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /r\.yaml:3:\d+: parameter 'n': its default "abc" is not a number .*\[RECIPE_INVALID\]/);
  });

  it('a check that answers something other than true or false fails its step', async (t) => {
    const dir = tempDir(t, 'kubestrap-odd-');
    writeFileSync(
      join(dir, 'tasks.ts'),
      `import { defineTask } from ${
        JSON.stringify(join(repoRoot, 'core/task.ts'))
      };\nexport default defineTask({ name: 'vague', description: 'x', check: () => 'yes' as never, run: () => {} });\n`,
    );
    writeFileSync(join(dir, 'r.yaml'), 'name: v\nsteps:\n  - { id: s, task: vague }\n');
    const r = await runCli(['plan', join(dir, 'r.yaml'), '--tasks', join(dir, 'tasks.ts')], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stdout, /the check of task 'vague' returned string: it must return true \(done\) or false/);
  });
});

// ——— apply and exit codes ———

describe('apply keeps to the audited plan; plan --detailed-exitcode', () => {
  const recipe = (dir: string) => {
    writeFileSync(
      join(dir, 'r.yaml'),
      `name: conv\nsteps:\n  - { id: s, task: write-file, with: { path: "${dir}/f", content: "x\\n" } }\n  - { id: b, task: write-file, with: { path: "${dir}/bin", content: "\${{ env.KUBESTRAP_BIN }}" } }\n`,
    );
    return join(dir, 'r.yaml');
  };
  it('0 when converged, 2 when something would change, 1 on an error', async (t) => {
    const dir = tempDir(t, 'kubestrap-exit-');
    const env = { KUBESTRAP_HOME: join(dir, 'home'), KUBESTRAP_BIN: 'b' };
    const file = recipe(dir);
    assert.equal((await runCli(['plan', file, '--detailed-exitcode'], { env, cwd: dir })).code, 2);
    assert.equal((await runCli(['run', file, '--yes'], { env, cwd: dir })).code, 0);
    assert.equal((await runCli(['plan', file, '--detailed-exitcode'], { env, cwd: dir })).code, 0);
    writeFileSync(join(dir, 'bad.yaml'), 'name: bad\nsteps:\n  - { id: s, task: write-file, with: { path: relative, content: x } }\n');
    assert.equal((await runCli(['plan', join(dir, 'bad.yaml'), '--detailed-exitcode'], { env, cwd: dir })).code, 1);
  });

  for (const [flag, args] of [['--only', ['--only', 's']], ['another -p', ['-p', 'other']], ['--allow-recipe-probes', ['--allow-recipe-probes']]] as const) {
    it(`apply refuses ${flag}: the plan fixes it`, async (t) => {
      const dir = tempDir(t, 'kubestrap-exit-');
      const env = { KUBESTRAP_HOME: join(dir, 'home'), KUBESTRAP_BIN: 'b' };
      assert.equal((await runCli(['plan', recipe(dir), '--out', 'p.json'], { env, cwd: dir })).code, 0);
      const r = await runCli(['apply', 'p.json', '--yes', ...args], { env, cwd: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /does not apply to it/);
      assert.equal(existsSync(join(dir, 'f')), false);
    });
  }

  it('apply notices a binary file changed since the plan (digests, not diffs)', async (t) => {
    const dir = tempDir(t, 'kubestrap-exit-');
    const env = { KUBESTRAP_HOME: join(dir, 'home'), KUBESTRAP_BIN: 'new' };
    writeFileSync(join(dir, 'bin'), Buffer.from([0, 1, 2, 3]));
    assert.equal((await runCli(['plan', recipe(dir), '--out', 'p.json'], { env, cwd: dir })).code, 0);
    writeFileSync(join(dir, 'bin'), Buffer.from([0, 1, 2, 4]));
    const r = await runCli(['apply', 'p.json', '--yes'], { env, cwd: dir });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /PLAN_DRIFTED/);
  });

  it('overwriting keeps every content it replaces that it did not write: the first original and a later edit', async (t) => {
    const dir = tempDir(t, 'kubestrap-exit-');
    const env = { KUBESTRAP_HOME: join(dir, 'home'), KUBESTRAP_BIN: 'one' };
    writeFileSync(join(dir, 'bin'), 'original\n');
    const file = recipe(dir);
    assert.equal((await runCli(['run', file, '--yes'], { env, cwd: dir })).code, 0);
    writeFileSync(join(dir, 'bin'), 'edited by the user\n');
    assert.equal((await runCli(['run', file, '--yes'], { env, cwd: dir })).code, 0);
    const backups = join(dir, 'home/profiles/kubestrap/backups', dir);
    const kept = readdirSync(backups).filter((n) => n.startsWith('bin')).map((n) => readFileSync(join(backups, n), 'utf8')).sort();
    assert.deepEqual(kept, ['edited by the user\n', 'original\n']);
  });
});

// ——— locking ———

describe('locking: a stale lock raced by many runs is taken by exactly one', () => {
  it('20 rounds of 6 processes racing for a lock left by a dead pid: never two holders at once', async (t) => {
    const dir = tempDir(t, 'kubestrap-lock-');
    // The lock module alone, bundled once, so that each racer starts in milliseconds.
    const { build } = await import('esbuild');
    await build({
      entryPoints: [join(repoRoot, 'core/profile.ts')],
      outfile: join(dir, 'profile.mjs'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'warning',
    });
    writeFileSync(
      join(dir, 'racer.mjs'),
      `
import { lockProfile } from './profile.mjs';
import { appendFileSync } from 'node:fs';
const [home, log, startAt] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {}
try {
  const unlock = lockProfile(home, 'race', 'racer');
  appendFileSync(log, 'in ' + process.pid + '\\n');
  const until = Date.now() + 150; while (Date.now() < until) {}
  appendFileSync(log, 'out ' + process.pid + '\\n');
  unlock();
  process.exit(0);
} catch (e) { process.exit(e.reason === 'PROFILE_LOCKED' ? 3 : 1); }
`,
    );
    const dead = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
    for (let round = 0; round < 20; round++) {
      const home = join(dir, `home-${round}`);
      const log = join(dir, `log-${round}`);
      mkdirSync(join(home, 'profiles/race'), { recursive: true });
      writeFileSync(join(home, 'profiles/race/lock'), JSON.stringify({ pid: dead, hostname: os.hostname(), command: 'crashed', started: 'then' }));
      if (round % 4 === 3) {
        writeFileSync(join(home, 'profiles/race/lock'), '');
        const old = new Date(Date.now() - 60_000);
        utimesSync(join(home, 'profiles/race/lock'), old, old);
      }
      writeFileSync(log, '');
      const startAt = String(Date.now() + 400);
      const codes = await Promise.all(Array.from({ length: 6 }, () =>
        new Promise<number | null>((r) => {
          spawn('node', [join(dir, 'racer.mjs'), home, log, startAt], { stdio: 'ignore' }).once('exit', (c) => r(c));
        })));
      assert.ok(codes.every((c) => c === 0 || c === 3), `round ${round}: exit codes ${codes}`);
      assert.ok(codes.includes(0), `round ${round}: nobody took the stale lock`);
      let inside = 0;
      for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
        inside += line.startsWith('in ') ? 1 : -1;
        assert.ok(inside <= 1, `round ${round}: two holders at once:\n${readFileSync(log, 'utf8')}`);
      }
      assert.deepEqual(readdirSync(join(home, 'profiles/race')), [], `round ${round}: a lock, temp or takeover file was left`);
    }
  });

  it('3 rounds of 3 real runs on a profile with a stale lock: one runs the step at a time', async (t) => {
    const dir = tempDir(t, 'kubestrap-lock-');
    writeFileSync(
      join(dir, 'r.yaml'),
      `name: once\nsteps:\n  - id: s\n    task: run-command\n    with: { argv: [sh, -c, 'mkdir "$1" || exit 9; sleep 0.5; rmdir "$1"; echo x >> "$2"', sh, "${dir}/inside", "${dir}/count"] }\n`,
    );
    const dead = Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());
    for (let round = 0; round < 3; round++) {
      const env = { KUBESTRAP_HOME: join(dir, `home-${round}`) };
      mkdirSync(join(env.KUBESTRAP_HOME, 'profiles/kubestrap'), { recursive: true });
      writeFileSync(
        join(env.KUBESTRAP_HOME, 'profiles/kubestrap/lock'),
        JSON.stringify({ pid: dead, hostname: os.hostname(), command: 'crashed', started: 'then' }),
      );
      rmSync(join(dir, 'count'), { force: true });
      const runs = Array.from({ length: 3 }, () => cliProcess(['run', join(dir, 'r.yaml'), '--yes'], env, dir));
      const codes = await Promise.all(runs.map((r) => r.exited));
      assert.ok(codes.every((c) => c === 0 || c === 3), `round ${round}: ${codes}\n${runs.map((r) => r.output()).join('\n---\n')}`);
      const ran = codes.filter((c) => c === 0).length;
      assert.ok(ran >= 1);
      assert.equal(readFileSync(join(dir, 'count'), 'utf8').split('\n').filter(Boolean).length, ran);
      assert.equal(existsSync(join(env.KUBESTRAP_HOME, 'profiles/kubestrap/lock')), false);
    }
  });
});

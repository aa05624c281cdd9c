// The bad-input corpus: every malformed recipe, task file, flag or plan is refused with exit 2
// (3 for refusals), one line on stderr naming the file, line:column and a stable reason, no stack —
// and nothing runs: each bad recipe also holds a step that would touch a marker file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, runCli } from './helpers/cli.ts';
import { repoRoot, tempDir } from './helpers/env.ts';

interface Case {
  name: string;
  /** argv, given the fixture root (a temp copy of test/fixtures/bad). */
  argv: (root: string) => string[];
  code: number;
  reason: string;
  /** Where the error points: a path relative to the fixture root, with :line:column when applicable. */
  where?: string | RegExp;
  message?: RegExp;
}

const run = (file: string, ...rest: string[]) => (root: string) => ['run', '--yes', join(root, file), ...rest];

const RECIPE_CASES: Case[] = [
  { name: 'YAML syntax error', argv: run('yaml-syntax.yaml'), code: 2, reason: 'RECIPE_YAML', where: 'yaml-syntax.yaml:8:46', message: /not valid YAML/ },
  { name: 'tab indentation', argv: run('tabs.yaml'), code: 2, reason: 'RECIPE_YAML', where: 'tabs.yaml:7:1', message: /Tabs are not allowed/ },
  {
    name: 'duplicate keys',
    argv: run('duplicate-keys.yaml'),
    code: 2,
    reason: 'RECIPE_YAML',
    where: 'duplicate-keys.yaml:8:5',
    message: /keys must be unique/,
  },
  {
    name: 'not a mapping',
    argv: run('not-a-mapping.yaml'),
    code: 2,
    reason: 'RECIPE_INVALID',
    where: 'not-a-mapping.yaml:1:1',
    message: /must be a YAML mapping/,
  },
  {
    name: 'unknown top-level key',
    argv: run('unknown-top-key.yaml'),
    code: 2,
    reason: 'RECIPE_INVALID',
    where: 'unknown-top-key.yaml:2:1',
    message: /unknown key 'imprts' in recipe \(did you mean 'imports'\?\)/,
  },
  { name: 'missing name', argv: run('missing-name.yaml'), code: 2, reason: 'RECIPE_INVALID', where: 'missing-name.yaml:1:1', message: /needs a name/ },
  { name: 'empty steps', argv: run('empty-steps.yaml'), code: 2, reason: 'RECIPE_INVALID', where: 'empty-steps.yaml:2:8', message: /non-empty list of steps/ },
  {
    name: 'step without id',
    argv: run('step-without-id.yaml'),
    code: 2,
    reason: 'RECIPE_INVALID',
    where: 'step-without-id.yaml:6:5',
    message: /step 2 needs an id/,
  },
  {
    name: 'duplicate step id',
    argv: run('duplicate-step-id.yaml'),
    code: 2,
    reason: 'RECIPE_INVALID',
    where: 'duplicate-step-id.yaml:6:9',
    message: /'marker' is used twice \(first by step 1\)/,
  },
  {
    name: 'unknown step key',
    argv: run('unknown-step-key.yaml'),
    code: 2,
    reason: 'RECIPE_INVALID',
    where: 'unknown-step-key.yaml:9:5',
    message: /unknown key 'need' .*did you mean 'needs'/,
  },
  {
    name: 'both task and recipe',
    argv: run('task-and-recipe.yaml'),
    code: 2,
    reason: 'RECIPE_INVALID',
    where: 'task-and-recipe.yaml:6:5',
    message: /exactly one of task: or recipe:/,
  },
  {
    name: 'unknown task',
    argv: run('unknown-task.yaml'),
    code: 2,
    reason: 'TASK_UNKNOWN',
    where: 'unknown-task.yaml:7:11',
    message: /unknown task 'write-fil' \(did you mean 'write-file'\?\)/,
  },
  {
    name: 'unknown parameter',
    argv: run('unknown-param.yaml'),
    code: 2,
    reason: 'PARAM_UNKNOWN',
    where: 'unknown-param.yaml:8:27',
    message: /no parameter 'contnt' \(did you mean 'content'\?\)/,
  },
  {
    name: 'missing required parameter',
    argv: run('missing-param.yaml'),
    code: 2,
    reason: 'PARAM_MISSING',
    where: 'missing-param.yaml:8:11',
    message: /needs parameter 'path'/,
  },
  {
    name: 'wrong parameter type',
    argv: run('wrong-param-type.yaml'),
    code: 2,
    reason: 'PARAM_INVALID',
    where: 'wrong-param-type.yaml:8:35',
    message: /'sudo' .* must be true or false, got "maybe"/,
  },
  {
    name: 'value not matching the pattern',
    argv: run('bad-pattern.yaml'),
    code: 2,
    reason: 'PARAM_INVALID',
    where: 'bad-pattern.yaml:8:33',
    message: /'mode' .* must match/,
  },
  {
    name: 'needs an unknown step',
    argv: run('needs-unknown.yaml'),
    code: 2,
    reason: 'NEEDS_UNKNOWN',
    where: 'needs-unknown.yaml:9:13',
    message: /needs 'markr'.*did you mean 'marker'/,
  },
  { name: 'needs itself', argv: run('needs-itself.yaml'), code: 2, reason: 'GRAPH_CYCLE', where: 'needs-itself.yaml:9:12', message: /'selfish' needs itself/ },
  { name: 'a 3-step cycle', argv: run('cycle.yaml'), code: 2, reason: 'GRAPH_CYCLE', where: 'cycle.yaml:9:12', message: /steps form a cycle: a → c → b → a/ },
  {
    name: 'include of a missing recipe',
    argv: run('include-missing.yaml'),
    code: 2,
    reason: 'RECIPE_NOT_FOUND',
    where: 'include-missing.yaml:7:13',
    message: /no-such-recipe\.yaml does not exist/,
  },
  {
    name: 'include cycle',
    argv: run('include-cycle-a.yaml'),
    code: 2,
    reason: 'RECIPE_CYCLE',
    where: 'include-cycle-b.yaml:4:13',
    message: /include-cycle-a\.yaml → include-cycle-b\.yaml → include-cycle-a\.yaml/,
  },
  {
    name: 'include with an unknown parameter',
    argv: run('include-unknown-param.yaml'),
    code: 2,
    reason: 'PARAM_UNKNOWN',
    where: 'include-unknown-param.yaml:8:11',
    message: /no parameter 'colour'/,
  },
  {
    name: 'bad template expression',
    argv: run('bad-template.yaml'),
    code: 2,
    reason: 'TEMPLATE_INVALID',
    where: 'bad-template.yaml:10:11',
    message: /\$\{\{ parms\.text \}\} is not an expression/,
  },
  {
    name: 'outputs of a step not in needs',
    argv: run('outputs-not-needed.yaml'),
    code: 2,
    reason: 'NEEDS_MISSING',
    where: 'outputs-not-needed.yaml:8:11',
    message: /uses outputs of 'marker' but does not need it/,
  },
  {
    name: 'when: using step outputs',
    argv: run('when-uses-steps.yaml'),
    code: 2,
    reason: 'TEMPLATE_INVALID',
    where: 'when-uses-steps.yaml:10:11',
    message: /when: can use params, profile and env only/,
  },
  {
    name: 'unknown host',
    argv: run('unknown-host.yaml'),
    code: 2,
    reason: 'RECIPE_INVALID',
    where: 'unknown-host.yaml:10:11',
    message: /unknown host 'nod1' \(did you mean 'node1'\?\)/,
  },
  {
    name: 'import of a missing task file',
    argv: run('import-missing.yaml'),
    code: 2,
    reason: 'RECIPE_INVALID',
    where: 'import-missing.yaml:2:11',
    message: /no-such-file\.ts does not exist/,
  },
  {
    name: 'task file with a syntax error',
    argv: run('task-file-syntax.yaml'),
    code: 2,
    reason: 'TASK_FILE_INVALID',
    where: /tasks\/syntax-error\.ts:6:1[01]: /,
    message: /cannot load this task file: Expected/,
  },
  {
    name: 'task file exporting no task',
    argv: run('task-file-empty.yaml'),
    code: 2,
    reason: 'TASK_FILE_EMPTY',
    where: 'task-file-empty.yaml:2:10',
    message: /no-task\.ts exports no task/,
  },
  {
    name: 'task with an invalid name',
    argv: run('task-invalid-name.yaml'),
    code: 2,
    reason: 'TASK_INVALID',
    where: 'task-invalid-name.yaml:2:10',
    message: /task name "Bad_Name" is not valid/,
  },
];

const P = 'params.yaml';
const CLI_CASES: Case[] = [
  {
    name: '--set of an unknown key',
    argv: run(P, '--set', 'colour=red'),
    code: 2,
    reason: 'PARAM_UNKNOWN',
    where: 'params.yaml',
    message: /no parameter 'colour'/,
  },
  { name: '--set of a near-miss key', argv: run(P, '--set', 'txt=x'), code: 2, reason: 'PARAM_UNKNOWN', message: /did you mean 'text'/ },
  { name: '--set without =', argv: run(P, '--set', 'colour'), code: 2, reason: 'USAGE', message: /--set colour: expected key=value/ },
  { name: '--set with an empty key', argv: run(P, '--set', '=x'), code: 2, reason: 'USAGE', message: /expected key=value/ },
  {
    name: '--set number that is not a number',
    argv: run(P, '--set', 'n=three'),
    code: 2,
    reason: 'PARAM_INVALID',
    where: 'params.yaml:4:6',
    message: /--set n=three: must be a number/,
  },
  {
    name: '--set boolean that is not a boolean',
    argv: run(P, '--set', 'flag=maybe'),
    code: 2,
    reason: 'PARAM_INVALID',
    where: 'params.yaml:5:9',
    message: /must be true or false/,
  },
  { name: '--set holding a template', argv: run(P, '--set', 'text=${{ env.HOME }}'), code: 2, reason: 'PARAM_INVALID', message: /may not contain/ },
  { name: 'unknown command', argv: () => ['frobnicate'], code: 2, reason: 'USAGE', message: /unknown command 'frobnicate'/ },
  { name: 'unknown command with a near miss', argv: (r) => ['pln', join(r, P)], code: 2, reason: 'USAGE', message: /did you mean 'plan'/ },
  {
    name: 'unknown option, named as typed',
    argv: run(P, '--bogus-flag'),
    code: 2,
    reason: 'USAGE',
    message: /: unknown option '--bogus-flag' \(see kubestrap run --help\) \[/,
  },
  { name: 'unknown option and no command', argv: () => ['--nope'], code: 2, reason: 'USAGE', message: /: unknown option '--nope' \(see kubestrap --help\) \[/ },
  {
    name: 'unknown option and no command, with a near miss',
    argv: () => ['--profil', 'x'],
    code: 2,
    reason: 'USAGE',
    message: /unknown option '--profil' \(did you mean '--profile'\?\)/,
  },
  {
    name: 'unknown option with a near miss',
    argv: (r) => ['plan', join(r, P), '--fromat', 'json'],
    code: 2,
    reason: 'USAGE',
    message: /unknown option '--fromat' \(did you mean '--format'\?\)/,
  },
  {
    name: 'a flag of another driver',
    argv: () => ['start', '--driver', 'none', '--nodes', '3', '--dry-run'],
    code: 2,
    reason: 'FLAG_NOT_FOR_DRIVER',
    message:
      /: --nodes is not an option of the none driver \(drop it, or start with --driver docker or --driver podman or --driver kvm2 or --driver qemu or --driver virtualbox, which take it\) \[/,
  },
  { name: 'missing recipe argument', argv: () => ['run'], code: 2, reason: 'USAGE', message: /missing required args/ },
  {
    name: 'unknown plan --format',
    argv: (r) => ['plan', join(r, P), '--format', 'xml'],
    code: 2,
    reason: 'USAGE',
    message: /--format xml: use text, json or sh/,
  },
  { name: 'unknown graph --format', argv: (r) => ['graph', join(r, P), '--format', 'png'], code: 2, reason: 'USAGE', message: /use text, dot or mermaid/ },
  { name: 'bad profile name', argv: run(P, '-p', '../evil'), code: 2, reason: 'PROFILE_INVALID', message: /profile name "\.\.\/evil" is not valid/ },
  { name: 'bad --concurrency', argv: run(P, '--concurrency', '0'), code: 2, reason: 'USAGE', message: /--concurrency/ },
  { name: 'missing recipe file', argv: run('nope.yaml'), code: 2, reason: 'RECIPE_NOT_FOUND', message: /nope\.yaml does not exist/ },
  {
    name: 'unknown recipe name',
    argv: () => ['run', '--yes', 'no-such-recipe'],
    code: 2,
    reason: 'RECIPE_NOT_FOUND',
    message: /no recipe named 'no-such-recipe'/,
  },
  {
    name: '--tasks of a missing file',
    argv: (r) => ['run', '--yes', join(r, P), '--tasks', join(r, 'tasks/missing.ts')],
    code: 2,
    reason: 'TASK_FILE_NOT_FOUND',
    message: /tasks\/missing\.ts does not exist/,
  },
  {
    name: '--tasks of a relative missing file',
    argv: (r) => ['run', '--yes', join(r, P), '--tasks', 'tasks/missing.ts'],
    code: 2,
    reason: 'TASK_FILE_NOT_FOUND',
    message: /tasks\/missing\.ts does not exist/,
  },
  {
    name: '--tasks of a file exporting no task',
    argv: (r) => ['run', '--yes', join(r, P), '--tasks', join(r, 'tasks/no-task.ts')],
    code: 2,
    reason: 'TASK_FILE_EMPTY',
    message: /exports no task/,
  },
  {
    name: '--only of an unknown step',
    argv: run(P, '--only', 'markr'),
    code: 2,
    reason: 'STEP_UNKNOWN',
    message: /--only markr: no such step.*did you mean 'marker'/,
  },
];

const PLAN_CASES: Case[] = [
  {
    name: 'apply of an edited plan',
    argv: (r) => ['apply', '--yes', join(r, 'plans/edited.json')],
    code: 3,
    reason: 'PLAN_EDITED',
    message: /edited\.json was changed after it was made/,
  },
  {
    name: 'apply of a file that is not JSON',
    argv: (r) => ['apply', '--yes', join(r, 'plans/not-json.json')],
    code: 2,
    reason: 'PLAN_INVALID',
    message: /not-json\.json is not JSON/,
  },
  {
    name: 'apply of JSON that is not a plan',
    argv: (r) => ['apply', '--yes', join(r, 'plans/version-2.json')],
    code: 2,
    reason: 'PLAN_INVALID',
    message: /version 2 is not supported/,
  },
  {
    name: 'apply of a missing plan',
    argv: (r) => ['apply', '--yes', join(r, 'plans/missing.json')],
    code: 2,
    reason: 'PLAN_NOT_FOUND',
    message: /cannot read plan/,
  },
];

let root = '';
let home = '';

/** A temp copy of the fixtures: broken .ts files are stored as .ts.txt so that tsc skips them. */
function copyFixtures(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubestrap-bad-'));
  cpSync(join(repoRoot, 'test/fixtures/bad'), dir, { recursive: true });
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ts.txt')) renameSync(p, p.slice(0, -'.txt'.length));
    }
  };
  walk(dir);
  return dir;
}

function markerPaths(name: string): string[] {
  const m = join(root, 'markers', name.replace(/[^a-z0-9]+/gi, '-'));
  return [m, `${m}.w`, `${m}.evil`];
}

async function cli(c: Case, extraArgs: string[] = []): Promise<CliResult & { markers: string[] }> {
  const markers = markerPaths(c.name);
  const r = await runCli([...c.argv(root), ...extraArgs], { env: { KUBESTRAP_HOME: home, KUBESTRAP_MARKER: markers[0] }, cwd: root });
  return { ...r, markers };
}

function checkRefusal(c: Case, r: CliResult & { markers: string[] }): void {
  assert.equal(r.code, c.code, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n');
  assert.equal(lines.length, 2, `exactly one line on stderr, got: ${r.stderr}`);
  assert.equal(lines[1], '');
  const line = lines[0]!;
  assert.ok(line.startsWith('kubestrap: '), line);
  assert.ok(line.endsWith(` [${c.reason}]`), `reason ${c.reason} in brackets at the end: ${line}`);
  if (typeof c.where === 'string') assert.ok(line.startsWith(`kubestrap: ${join(root, c.where)}: `), `position ${c.where}: ${line}`);
  else if (c.where) assert.match(line, c.where);
  if (c.message) assert.match(line, c.message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace without --verbose');
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.equal(r.stdout, '', 'nothing was planned or run');
  for (const m of r.markers) assert.equal(existsSync(m), false, `marker ${m} must not exist: something ran`);
  assertProfileUntouched();
}

/** A refused command takes no lock and saves no state (checked after each one, so no test depends on another's order). */
function assertProfileUntouched(): void {
  assert.equal(existsSync(join(home, 'profiles', 'kubestrap', 'state.json')), false, 'no state was saved');
  assert.equal(existsSync(join(home, 'profiles', 'kubestrap', 'lock')), false, 'no lock was left');
  assert.equal(existsSync(join(root, 'planned-marker')), false);
  assert.deepEqual(readdirSync(join(root, 'markers')), [], 'no marker step ran');
}

describe('bad input', () => {
  before(async () => {
    root = copyFixtures();
    home = join(root, '.home');
    mkdirSync(join(root, 'markers'));
    mkdirSync(join(root, 'plans'));
    // Saved plans for apply: one good (planned with a marker that points elsewhere), then edited.
    const r = await runCli(['plan', join(root, P), '--out', join(root, 'plans/good.json')], {
      env: { KUBESTRAP_HOME: home, KUBESTRAP_MARKER: join(root, 'planned-marker') },
      cwd: root,
    });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(readFileSync(join(root, 'plans/good.json'), 'utf8'));
    const edited = structuredClone(plan);
    const exec = edited.steps[0].effects.find((e: { kind: string }) => e.kind === 'exec');
    exec.command = `touch ${markerPaths('apply of an edited plan')[2]}`;
    writeFileSync(join(root, 'plans/edited.json'), JSON.stringify(edited, null, 2));
    writeFileSync(join(root, 'plans/not-json.json'), '{ "version": 1, "steps": [');
    writeFileSync(join(root, 'plans/version-2.json'), JSON.stringify({ ...plan, version: 2 }));
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('has at least 30 malformed recipes and task files, each with a marker step', () => {
    assert.ok(RECIPE_CASES.length >= 30, `${RECIPE_CASES.length} cases`);
    for (const f of readdirSync(join(repoRoot, 'test/fixtures/bad')).filter((n) => n.endsWith('.yaml'))) {
      const text = readFileSync(join(repoRoot, 'test/fixtures/bad', f), 'utf8');
      if (['empty-steps.yaml', 'not-a-mapping.yaml', 'include-cycle-b.yaml', 'literal.yaml'].includes(f)) continue;
      assert.match(text, /KUBESTRAP_MARKER/, `${f} holds a marker step`);
    }
  });

  for (const c of [...RECIPE_CASES, ...CLI_CASES, ...PLAN_CASES]) {
    it(`${c.name}: exit ${c.code} [${c.reason}]`, async () => {
      checkRefusal(c, await cli(c));
    });
  }

  it('the same mistakes, planned instead of run, are refused the same way', async () => {
    for (const c of RECIPE_CASES.slice(0, 12)) {
      const r = await cli({ ...c, argv: (root) => ['plan', ...c.argv(root).slice(2)] });
      checkRefusal(c, r);
    }
  });

  it('--verbose adds the stack trace (and still runs nothing)', async () => {
    const c = RECIPE_CASES.find((x) => x.name === 'a 3-step cycle')!;
    const r = await cli(c, ['--verbose']);
    assert.equal(r.code, 2);
    const [first, ...rest] = r.stderr.split('\n');
    assert.match(first!, /\[GRAPH_CYCLE\]$/);
    assert.match(rest.join('\n'), /^UserError: steps form a cycle/m);
    assert.match(rest.join('\n'), /^\s+at .*graph\.ts/m);
    for (const m of r.markers) assert.equal(existsSync(m), false);
    // -v is the short --verbose, not --version.
    const short = await cli(c, ['-v']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /^UserError: steps form a cycle/m);
  });

  it('a mistake only a step can see (a relative path) fails the plan with exit 2, and nothing runs', async () => {
    const c: Case = { name: 'relative path', argv: run('relative-path.yaml'), code: 2, reason: 'PATH_NOT_ABSOLUTE' };
    const r = await cli(c);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    // The plan is shown with the failed step and its reason; the independent marker step never ran.
    assert.match(r.stdout, /failed relative \(write-file\)\n\s+path "relative\/path" must be absolute \[PATH_NOT_ABSOLUTE\]/);
    assert.match(r.stdout, /skipped after/);
    assert.doesNotMatch(r.stdout + r.stderr, /^\s+at /m);
    for (const m of r.markers) assert.equal(existsSync(m), false, `marker ${m} must not exist: something ran`);
  });
});

describe('shell metacharacters in parameters are data, not code', () => {
  const VALUES = [
    '$(touch MARK-1)',
    '`touch MARK-2`',
    '; touch MARK-3',
    'x; rm -f SENTINEL; rm -rf SENTINEL',
    "'; touch MARK-4; '",
    '"; touch MARK-5; "',
    'line one\ntouch MARK-6\n',
    '&& touch MARK-7 || touch MARK-8 | touch MARK-9 > MARK-10 < /dev/null &',
    'it\'s a "quote" \\ and $HOME and ${HOME} and * and ~ and #',
  ];

  it('run: the value is written literally, passed literally as one argv word, and nothing else runs', async (t) => {
    const dir = tempDir(t, 'kubestrap-literal-');
    const out = join(dir, 'out');
    mkdirSync(out);
    const sentinel = join(dir, 'sentinel');
    writeFileSync(sentinel, 'must survive');
    for (const [i, raw] of VALUES.entries()) {
      const value = raw.replace(/MARK-(\d+)/g, (_, n) => join(dir, `mark-${i}-${n}`)).replaceAll('SENTINEL', sentinel);
      const r = await runCli(['run', '--yes', join(repoRoot, 'test/fixtures/bad/literal.yaml'), '--set', `text=${value}`], {
        env: { KUBESTRAP_HOME: join(dir, 'home'), KUBESTRAP_OUT: out },
        cwd: dir,
      });
      assert.equal(r.code, 0, `value ${JSON.stringify(value)}: ${r.stderr}${r.stdout}`);
      assert.equal(readFileSync(join(out, 'written.txt'), 'utf8'), value, 'file content is the literal value');
      assert.equal((statSync(join(out, 'written.txt')).mode & 0o777).toString(8), '600');
      assert.equal(readFileSync(join(out, 'argv.txt'), 'utf8'), value, 'the command got the literal value as one word');
      const stray = readdirSync(dir).filter((n) => n.startsWith('mark-'));
      assert.deepEqual(stray, [], `value ${JSON.stringify(value)} executed something`);
      assert.equal(readFileSync(sentinel, 'utf8'), 'must survive', `value ${JSON.stringify(value)} removed a file`);
    }
  });

  it('plan --format sh: the script, run by bash, writes the same literal value and runs nothing else', async (t) => {
    const dir = tempDir(t, 'kubestrap-literal-sh-');
    const out = join(dir, 'out');
    mkdirSync(out);
    const sentinel = join(dir, 'sentinel');
    writeFileSync(sentinel, 'must survive');
    const value = VALUES.join(' ').replace(/MARK-(\d+)/g, (_, n) => join(dir, `mark-${n}`)).replaceAll('SENTINEL', sentinel);
    const r = await runCli(['plan', join(repoRoot, 'test/fixtures/bad/literal.yaml'), '--format', 'sh', '--set', `text=${value}`], {
      env: { KUBESTRAP_HOME: join(dir, 'home'), KUBESTRAP_OUT: out },
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    execFileSync('bash', ['-c', r.stdout], { cwd: dir });
    assert.equal(readFileSync(join(out, 'written.txt'), 'utf8'), value);
    assert.equal(readFileSync(join(out, 'argv.txt'), 'utf8'), value);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('mark-')), []);
    assert.equal(readFileSync(sentinel, 'utf8'), 'must survive');
  });
});

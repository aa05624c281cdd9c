// The ssh host against a real OpenSSH sshd on 127.0.0.1, and a whole recipe run over it through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { isRoot, missing, tempDir } from '../helpers/env.ts';
import { createTestUser, type Sshd, startSshd, type TestUser } from '../helpers/sshd.ts';
import { runCli } from '../helpers/cli.ts';
import { SshHost } from '../../core/hosts/ssh.ts';
import { UserError } from '../../core/errors.ts';
import type { Effect } from '../../core/effects.ts';
import type { PlanDocument } from '../../core/plan.ts';
import type { EngineEvent } from '../../core/events.ts';

// Root: the tests create a throw-away login user and /run/sshd.
const skip = isRoot
  ? missing(['sshd', 'ssh', 'ssh-keygen', 'useradd'], 'apt-get install openssh-server openssh-client passwd')
  : 'needs root (creates a throw-away user for sshd)';

async function connect(
  t: { after(fn: () => unknown): void },
  s: Sshd,
  user: TestUser,
  knownHosts: string,
  extra: Partial<Parameters<typeof SshHost.connect>[0]> = {},
): Promise<SshHost> {
  // readKnownHosts: [] keeps this machine's ~/.ssh/known_hosts (stale entries for reused ports) out of the test.
  const host = await SshHost.connect({ address: s.address, port: s.port, user: user.name, key: s.key, knownHosts, readKnownHosts: [], ...extra });
  t.after(() => host.close());
  return host;
}

async function rejection(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${e instanceof Error ? e.stack : e}`);
    return e;
  }
  assert.fail('expected the promise to reject');
}

test('exec: output, exit codes, signals, stdin, lines, timeout and abort', { skip, timeout: 120_000 }, async (t) => {
  const user = createTestUser(t);
  const s = await startSshd(t);
  const host = await connect(t, s, user, join(tempDir(t), 'known_hosts'));
  assert.equal(host.name, `ssh:${user.name}@127.0.0.1:${s.port}`);
  assert.equal(host.kind, 'ssh');

  const r = await host.exec(`echo out; echo err >&2; printf 'no newline'; exit 7`);
  assert.deepEqual(r, { stdout: 'out\nno newline', stderr: 'err\n', exitCode: 7, signal: null });
  // The command string reaches a POSIX shell as is: quoting, $vars and pipes keep their meaning.
  assert.equal((await host.exec(`x='a b'; printf '%s|' "$x" $x 'it'"'"'s' | tr a A`)).stdout, "A b|A|b|it's|");

  const killed = await host.exec('kill -TERM $$');
  assert.equal(killed.exitCode, null);
  assert.equal(killed.signal, 'SIGTERM');

  // stdin: binary bytes arrive unchanged and are ended (cat returns).
  const bytes = randomBytes(300_000);
  const sum = await host.exec('sha256sum', { stdin: bytes });
  assert.equal(sum.stdout.split(' ')[0], createHash('sha256').update(bytes).digest('hex'));
  assert.equal((await host.exec('cat', { stdin: 'héllo ✓' })).stdout, 'héllo ✓');
  assert.equal((await host.exec('wc -c')).stdout.trim(), '0', 'without stdin the command sees end of file');

  // Large output with multi-byte characters split across packets stays intact; onLine gets every line.
  const lines: string[] = [];
  const big = await host.exec(`i=0; while [ $i -lt 20000 ]; do echo "línea $i ✓"; i=$((i+1)); done; printf tail; echo e >&2`, {
    onLine: (stream, line) => lines.push(`${stream}:${line}`),
  });
  assert.equal(big.stdout.split('\n').length, 20001);
  assert.equal(lines.filter((l) => l.startsWith('stdout:')).length, 20001);
  assert.equal(lines.filter((l) => l.startsWith('stdout:')).at(-1), 'stdout:tail', 'the last line, without a newline, is delivered too');
  assert.ok(lines.includes('stdout:línea 19999 ✓') && lines.includes('stderr:e'));

  const t0 = Date.now();
  const slow = await host.exec('sleep 30; echo never', { timeoutMs: 300 });
  assert.equal(slow.signal, 'SIGTERM');
  assert.equal(slow.stdout, '');
  assert.ok(Date.now() - t0 < 2500, `timeout took ${Date.now() - t0} ms`);

  const ac = new AbortController();
  const aborted = host.exec('trap "" TERM; echo started; sleep 30', { signal: ac.signal, onLine: () => ac.abort() });
  const t1 = Date.now();
  const ar = await aborted;
  // The shell ignores TERM, so it takes the KILL that follows.
  assert.equal(ar.exitCode, null);
  assert.ok(ar.signal === 'SIGKILL', `signal ${ar.signal}`);
  assert.ok(Date.now() - t1 < 5000);
  await assert.rejects(host.exec('true', { signal: ac.signal }), /abort/i);

  // ShellHost reads through exec: facts, stat, readFile.
  assert.deepEqual(await host.facts(), { uid: user.uid, gid: user.uid, user: user.name, home: user.home });
  writeFileSync(join(user.home, 'f.txt'), 'content\n', { mode: 0o640 });
  chownSync(join(user.home, 'f.txt'), user.uid, user.uid);
  assert.deepEqual(await host.stat(join(user.home, 'f.txt')), { exists: true, isDir: false, size: 8, mode: '0640' });
  assert.equal(Buffer.from((await host.readFile(join(user.home, 'f.txt')))!).toString(), 'content\n');
  assert.equal(await host.readFile(join(user.home, 'missing')), null);

  await host.close();
  await assert.rejects(host.exec('true'), /closed/);
  assert.equal(s.logins(), 1, 'every command above shared one login');
});

test('many commands at once share one connection, also when sshd allows fewer sessions', { skip, timeout: 120_000 }, async (t) => {
  const user = createTestUser(t);
  const s = await startSshd(t, { maxSessions: 3 });
  const host = await connect(t, s, user, join(tempDir(t), 'known_hosts'));
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: 15 }, (_, i) => host.exec(`sleep 0.4; echo ${i}`)));
  const ms = Date.now() - t0;
  assert.deepEqual(results.map((r) => r.stdout), Array.from({ length: 15 }, (_, i) => `${i}\n`));
  assert.ok(results.every((r) => r.exitCode === 0));
  // 15 × 0.4 s one after another would be 6 s; three at a time ≈ 2 s.
  assert.ok(ms < 4000, `15 commands took ${ms} ms`);
  assert.equal(s.logins(), 1, 'one SSH login for all commands');

  // A server that allows no sessions at all: every command fails, none waits forever.
  const none = await startSshd(t, { maxSessions: 0 });
  const refusing = await connect(t, none, user, join(tempDir(t), 'known_hosts'));
  const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => refusing.exec('true')));
  assert.ok(outcomes.every((o) => o.status === 'rejected' && /refused to open a session/.test(String(o.reason))), JSON.stringify(outcomes.map(String)));

  const s2 = await startSshd(t);
  const wide = await connect(t, s2, user, join(tempDir(t), 'known_hosts'));
  const t1 = Date.now();
  await Promise.all(Array.from({ length: 20 }, () => wide.exec('sleep 0.3')));
  // Ten channels at a time: two rounds (one after another would be 6 s).
  assert.ok(Date.now() - t1 < 2500, `20 commands took ${Date.now() - t1} ms`);
  assert.equal(s2.logins(), 1);
});

test('known_hosts: first use is recorded and then verified; a changed host key is refused', { skip, timeout: 120_000 }, async (t) => {
  const user = createTestUser(t);
  const dir = tempDir(t);
  const knownHosts = join(dir, 'state', 'known_hosts');
  const s = await startSshd(t);
  const expectedFp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', s.hostKeyFiles.ed25519!], { encoding: 'utf8' }).split(' ')[1]!;
  const messages: string[] = [];
  const first = await connect(t, s, user, knownHosts, { onFirstUse: (m) => messages.push(m) });
  assert.ok(first.firstUse?.includes(expectedFp), first.firstUse);
  assert.ok(first.firstUse?.includes(knownHosts));
  assert.deepEqual(messages, [first.firstUse]);
  assert.equal(first.hostKey.fingerprint, expectedFp);
  assert.equal(readFileSync(knownHosts, 'utf8'), `[127.0.0.1]:${s.port} ${s.hostPublicKey}\n`);
  assert.equal(statSync(knownHosts).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700);
  // OpenSSH itself accepts the entry we wrote.
  const viaOpenssh = spawnSync('ssh', [
    '-p',
    String(s.port),
    '-i',
    s.key,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    `${user.name}@127.0.0.1`,
    'echo via-openssh',
  ], { encoding: 'utf8' });
  assert.equal(viaOpenssh.stdout, 'via-openssh\n', viaOpenssh.stderr);
  await first.close();

  const again = await connect(t, s, user, knownHosts);
  assert.equal(again.firstUse, undefined);
  assert.equal(readFileSync(knownHosts, 'utf8').split('\n').length, 2, 'nothing appended on a known host');
  await again.close();

  // The same address and port now answers with another host key.
  await s.stop();
  const impostor = await startSshd(t, { port: s.port, clientKey: s.key });
  const err = await rejection(connect(t, impostor, user, knownHosts));
  assert.equal(err.reason, 'SSH_HOST_KEY_MISMATCH');
  assert.equal(err.exitCode, 2);
  assert.ok(err.message.includes(`${knownHosts}:1`), err.message);
  assert.ok(
    err.message.includes(execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', impostor.hostKeyFiles.ed25519!], { encoding: 'utf8' }).split(' ')[1]!),
  );
  assert.equal(impostor.logins(), 0, 'no login was attempted');
  assert.equal(readFileSync(knownHosts, 'utf8').split('\n').length, 2, 'the mismatch was not recorded');
  // The fix it names works: run it, and the new key is accepted as a first use.
  const fix = /remove the old key with: (.*)$/.exec(err.fix ?? '')?.[1];
  assert.ok(fix, err.fix);
  execFileSync('sh', ['-c', fix], { stdio: 'pipe' });
  const renewed = await connect(t, impostor, user, knownHosts);
  assert.ok(renewed.firstUse);
});

test('known_hosts: hashed entries from OpenSSH, and a known key of another type is preferred', { skip, timeout: 120_000 }, async (t) => {
  const user = createTestUser(t);
  const dir = tempDir(t);
  const s = await startSshd(t, { hostKeyTypes: ['ed25519', 'rsa'] });
  // Only the RSA key is on record, hashed by ssh-keygen: we must ask for RSA, find and accept it.
  const hashed = join(dir, 'user_known_hosts');
  writeFileSync(hashed, `[127.0.0.1]:${s.port} ${readFileSync(s.hostKeyFiles.rsa!, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed], { stdio: 'pipe' });
  assert.match(readFileSync(hashed, 'utf8'), /^\|1\|/);
  const own = join(dir, 'known_hosts');
  const host = await connect(t, s, user, own, { readKnownHosts: [hashed] });
  assert.equal(host.firstUse, undefined);
  assert.equal(host.hostKey.type, 'ssh-rsa');
  assert.equal(existsSync(own), false, 'a host known elsewhere is not added to our file');
  assert.equal((await host.exec('echo ok')).stdout, 'ok\n');

  // A hashed entry with the wrong key is a mismatch, named by file and line.
  const wrong = join(dir, 'wrong');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other_host')]);
  writeFileSync(wrong, `# old\n[127.0.0.1]:${s.port} ${readFileSync(join(dir, 'other_host.pub'), 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', wrong], { stdio: 'pipe' });
  const err = await rejection(connect(t, s, user, own, { readKnownHosts: [wrong] }));
  assert.equal(err.reason, 'SSH_HOST_KEY_MISMATCH');
  assert.ok(err.message.includes(`${wrong}:2`), err.message);
});

test('unreachable, silent and refusing servers fail fast with a reason and a fix', { skip, timeout: 120_000 }, async (t) => {
  const user = createTestUser(t);
  const dir = tempDir(t);
  const knownHosts = join(dir, 'known_hosts');

  const s = await startSshd(t);
  const missingKey = await rejection(SshHost.connect({ address: '127.0.0.1', port: s.port, user: user.name, key: join(dir, 'none'), knownHosts }));
  assert.equal(missingKey.reason, 'SSH_KEY_UNREADABLE');
  assert.ok(missingKey.message.includes(join(dir, 'none')));

  // A port nobody listens on: take one, then close it.
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const t0 = Date.now();
  const refused = await rejection(SshHost.connect({ address: '127.0.0.1', port, user: user.name, key: s.key, knownHosts }));
  assert.equal(refused.reason, 'SSH_UNREACHABLE');
  assert.equal(refused.exitCode, 2);
  assert.match(refused.message, /connection refused/);
  assert.ok(refused.fix);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);

  // A server that accepts TCP and never speaks: the handshake limit applies.
  const sockets: Socket[] = [];
  const silent = createServer((sock) => sockets.push(sock));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const sock of sockets) sock.destroy();
    silent.close();
  });
  const t1 = Date.now();
  const mute = await rejection(
    SshHost.connect({ address: '127.0.0.1', port: (silent.address() as { port: number }).port, user: user.name, key: s.key, knownHosts, timeoutMs: 500 }),
  );
  assert.equal(mute.reason, 'SSH_UNREACHABLE');
  assert.match(mute.message, /did not finish the SSH handshake within 500 ms/);
  assert.ok(Date.now() - t1 < 3000);
  assert.equal(existsSync(knownHosts), false);

  // A key the server does not know.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'stranger')]);
  const denied = await rejection(
    SshHost.connect({ address: '127.0.0.1', port: s.port, user: user.name, key: join(dir, 'stranger'), knownHosts, readKnownHosts: [] }),
  );
  assert.equal(denied.reason, 'SSH_AUTH_FAILED');
  assert.ok(denied.message.includes(join(dir, 'stranger')) && denied.message.includes(user.name), denied.message);
  assert.match(denied.fix ?? '', /authorized_keys/);

  // A key with a passphrase cannot be used without an agent: said before connecting.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', join(dir, 'locked')]);
  const locked = await rejection(SshHost.connect({ address: '127.0.0.1', port: s.port, user: user.name, key: join(dir, 'locked'), knownHosts }));
  assert.equal(locked.reason, 'SSH_KEY_ENCRYPTED');
  assert.match(locked.fix ?? '', /ssh-add/);
});

test('ssh-agent: without key: the agent logs in; an agent that is gone is skipped', {
  skip: skip ?? missing(['ssh-agent', 'ssh-add'], 'apt-get install openssh-client'),
  timeout: 120_000,
}, async (t) => {
  const user = createTestUser(t);
  const s = await startSshd(t);
  const dir = tempDir(t);
  const sock = join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  t.after(() => {
    agent.kill();
  });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  execFileSync('ssh-add', ['-q', s.key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'pipe' });

  // key: '' is how a recipe parameter's empty default arrives: no key given.
  const host = await SshHost.connect({
    address: s.address,
    port: s.port,
    user: user.name,
    key: '',
    agent: sock,
    knownHosts: join(dir, 'known_hosts'),
    readKnownHosts: [],
  });
  t.after(() => host.close());
  assert.equal((await host.exec('id -un')).stdout, `${user.name}\n`);
  assert.ok(!host.shellPrefix().includes('-i'), 'OpenSSH finds the agent itself');

  const gone = await rejection(
    SshHost.connect({
      address: s.address,
      port: s.port,
      user: user.name,
      agent: join(dir, 'no-such.sock'),
      knownHosts: join(dir, 'known_hosts'),
      readKnownHosts: [],
    }),
  );
  assert.equal(gone.reason, 'SSH_AUTH_FAILED');
  assert.ok(gone.message.includes('no-such.sock'), gone.message);
});

// ——— a recipe over ssh, through the CLI ———

function recipeFor(s: Sshd, user: TestUser): string {
  return [
    'name: over-ssh',
    'params:',
    `  dir: { default: ${JSON.stringify(join(user.home, 'out'))} }`,
    'hosts:',
    '  node:',
    `    ssh: { address: 127.0.0.1, port: ${s.port}, user: ${user.name}, key: ${JSON.stringify(s.key)} }`,
    'steps:',
    '  - id: config',
    '    task: write-file',
    '    host: node',
    '    with: { path: "${{ params.dir }}/app.conf", content: "a = 1\\nb = \'two\'\\n", mode: "0640" }',
    '  - id: notes',
    '    task: write-file',
    '    host: node',
    '    with: { path: "${{ params.dir }}/notes.txt", content: "it\'s $HOME `not run` ✓" }',
    '  - id: marker',
    '    task: run-command',
    '    host: node',
    '    needs: [config]',
    '    with:',
    '      argv: [sh, -c, \'echo "$1" > "$2"\', sh, "hello world", "${{ params.dir }}/marker"]',
    '      creates: "${{ params.dir }}/marker"',
    '',
  ].join('\n');
}

const MUTATING = new Set(['exec', 'write', 'remove', 'service', 'package', 'download']);
function changes(effects: Effect[]): Effect[] {
  return effects.filter((e) => MUTATING.has(e.kind) && !(e.kind === 'write' && e.unchanged) && !(e.kind === 'remove' && !e.exists));
}
function events(stdout: string): EngineEvent[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as EngineEvent);
}

test('a recipe runs over ssh through the CLI: the plan is what runs, and a second run changes nothing', { skip, timeout: 120_000 }, async (t) => {
  const user = createTestUser(t);
  const s = await startSshd(t);
  const dir = tempDir(t);
  const recipe = join(dir, 'recipe.yaml');
  writeFileSync(recipe, recipeFor(s, user));
  const env = { KUBESTRAP_HOME: join(dir, 'home') };
  const out = join(user.home, 'out');

  const planned = await runCli(['plan', recipe, '--format', 'json'], { env, cwd: dir });
  assert.equal(planned.code, 0, planned.stderr + planned.stdout);
  const plan = JSON.parse(planned.stdout) as PlanDocument;
  const hostName = `ssh:${user.name}@127.0.0.1:${s.port}`;
  assert.deepEqual(plan.steps.map((st) => [st.id, st.host, st.status]), [['config', hostName, 'change'], ['notes', hostName, 'change'], [
    'marker',
    hostName,
    'change',
  ]]);
  assert.equal(existsSync(out), false, 'planning changed nothing');
  // The host key was accepted on first use into KUBESTRAP_HOME/known_hosts.
  assert.equal(readFileSync(join(env.KUBESTRAP_HOME, 'known_hosts'), 'utf8'), `[127.0.0.1]:${s.port} ${s.hostPublicKey}\n`);

  const run = await runCli(['run', recipe, '--yes', '--json'], { env, cwd: dir });
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const ev = events(run.stdout);
  for (const step of plan.steps) {
    const performed = ev.filter((e): e is Extract<EngineEvent, { type: 'effect' }> => e.type === 'effect' && e.step === step.id).map((e) => e.effect);
    assert.deepEqual(changes(performed), changes(step.effects), `step ${step.id} did exactly what its plan listed`);
    assert.ok(changes(step.effects).length > 0);
  }
  assert.equal(s.logins(), 2, 'one connection for the plan, one for the run (plan + perform)');

  // The files are really there, as planned, owned by the ssh user.
  const conf = join(out, 'app.conf');
  assert.equal(readFileSync(conf, 'utf8'), "a = 1\nb = 'two'\n");
  assert.equal(statSync(conf).mode & 0o777, 0o640);
  assert.equal(statSync(conf).uid, user.uid);
  assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), "it's $HOME `not run` ✓");
  assert.equal(readFileSync(join(out, 'marker'), 'utf8'), 'hello world\n');
  const write = plan.steps[0]!.effects.find((e) => e.kind === 'write');
  assert.ok(write?.kind === 'write' && write.content === readFileSync(conf, 'utf8'));

  const second = await runCli(['run', recipe, '--yes', '--json'], { env, cwd: dir });
  assert.equal(second.code, 0, second.stderr + second.stdout);
  const ev2 = events(second.stdout);
  const finished = ev2.filter((e): e is Extract<EngineEvent, { type: 'step-finish' }> => e.type === 'step-finish');
  assert.equal(finished.length, 3);
  const performed2 = ev2.filter((e): e is Extract<EngineEvent, { type: 'effect' }> => e.type === 'effect').map((e) => e.effect);
  assert.deepEqual(changes(performed2), [], 'nothing changed the second time');
  // Steps run concurrently in a run: compare without order.
  assert.deepEqual(finished.map((f) => [f.step, f.status]).sort(), [['config', 'ok'], ['marker', 'ok'], ['notes', 'ok']]);
});

test('plan --format sh over ssh passes shellcheck and its ssh commands really do the work', {
  skip: skip ?? missing(['shellcheck', 'bash'], 'apt-get install shellcheck'),
  timeout: 120_000,
}, async (t) => {
  const user = createTestUser(t);
  const s = await startSshd(t);
  const dir = tempDir(t);
  const recipe = join(dir, 'recipe.yaml');
  writeFileSync(recipe, recipeFor(s, user));
  const env = { KUBESTRAP_HOME: join(dir, 'home') };
  const out = join(user.home, 'out');
  // One file exists already with other content: the script must overwrite it (and keep a backup).
  mkdirSync(out);
  chownSync(out, user.uid, user.uid);
  writeFileSync(join(out, 'notes.txt'), 'old\n');
  chownSync(join(out, 'notes.txt'), user.uid, user.uid);

  const sh = await runCli(['plan', recipe, '--format', 'sh'], { env, cwd: dir });
  assert.equal(sh.code, 0, sh.stderr + sh.stdout);
  const script = join(dir, 'plan.sh');
  writeFileSync(script, sh.stdout);
  const check = spawnSync('shellcheck', ['-s', 'bash', script], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);

  // Every command for the node goes through exactly the ssh invocation that reaches it.
  const prefix =
    `ssh -p ${s.port} -i ${s.key} -o IdentitiesOnly=yes -o BatchMode=yes -o 'UserKnownHostsFile=${env.KUBESTRAP_HOME}/known_hosts ~/.ssh/known_hosts' ${user.name}@127.0.0.1 --`;
  const commandLines = sh.stdout.split('\n').filter((l) => l && !l.startsWith('#') && !/^(set |WRITE_FILE=|[^ ]*$)/.test(l) && /ssh /.test(l));
  assert.equal(commandLines.length, 3, sh.stdout);
  for (const l of commandLines) assert.ok(l.includes(prefix), `${l}\n does not use ${prefix}`);

  // Run the script itself: the same files appear, and a fresh plan then has nothing to do.
  const ran = spawnSync('bash', [script], { encoding: 'utf8', cwd: dir });
  assert.equal(ran.status, 0, ran.stdout + ran.stderr);
  assert.equal(readFileSync(join(out, 'app.conf'), 'utf8'), "a = 1\nb = 'two'\n");
  assert.equal(statSync(join(out, 'app.conf')).mode & 0o777, 0o640);
  assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), "it's $HOME `not run` ✓");
  assert.equal(readFileSync(join(out, 'marker'), 'utf8'), 'hello world\n');
  assert.equal(readFileSync(join(user.home, '.kubestrap', 'backups', 'kubestrap', out, 'notes.txt'), 'utf8'), 'old\n');

  const after = await runCli(['plan', recipe, '--format', 'json'], { env, cwd: dir });
  const plan = JSON.parse(after.stdout) as PlanDocument;
  assert.deepEqual(plan.steps.flatMap((st) => changes(st.effects)), [], 'the script did all the plan listed');
});

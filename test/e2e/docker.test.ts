// The docker host against real engines: a private dockerd and a private podman service, started by
// this file in temp dirs, with containers from the cached Debian node image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerHost } from '../../core/hosts/docker.ts';
import { UserError } from '../../core/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { hasBinary, missing, tempDir } from '../helpers/env.ts';
import { DOCKER_INSTALL, PODMAN_INSTALL, startDockerd, startPodman, type Teardown } from '../helpers/dockerd.ts';
import { execIn, MMDEBSTRAP_INSTALL, nodeImage, startNodeContainer } from '../helpers/node-image.ts';

const skipImage = missing(['mmdebstrap'], MMDEBSTRAP_INSTALL);
const skipDocker = missing(['dockerd', 'containerd', 'runc'], DOCKER_INSTALL) ?? skipImage;
const skipPodman = missing(['podman'], PODMAN_INSTALL) ?? skipImage;
/** Each part gets its own limit, so a hang names the part that hung. */
const SUB = { timeout: 120_000 };

/** A long-lived container (sleep as PID 1, no network) to exec into. */
async function plainContainer(t: Teardown, socket: string, image: string, name: string): Promise<Docker.Container> {
  const docker = new Docker({ socketPath: socket });
  const c = await docker.createContainer({ name, Image: image, Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'none' } });
  t.after(async () => {
    await c.remove({ force: true }).catch(() => {});
  });
  await c.start();
  return c;
}

interface Ev {
  type: string;
  step?: string;
  status?: string;
  effect?: { kind: string; [k: string]: unknown };
}
const events = (stdout: string): Ev[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Ev);
const MUTATING = new Set(['exec', 'write', 'remove', 'service', 'package']);

/** A recipe on a container host using the built-in write-file, run-command and remove-path tasks. */
function fileRecipe(dir: string, container: string, socket: string): string {
  const file = join(dir, 'recipe.yaml');
  writeFileSync(
    file,
    `name: docker-e2e
hosts:
  node: { docker: { container: ${container}, socket: "unix://${socket}" } }
steps:
  - id: conf
    task: write-file
    host: node
    with: { path: /etc/kubestrap-e2e/app.conf, content: "greeting = hello\\nquote = 'it''s'\\n", mode: "0640" }
  - id: marker
    task: run-command
    host: node
    needs: [conf]
    with:
      argv: [sh, -c, "cat /etc/kubestrap-e2e/app.conf >> /var/tmp/e2e-runs && touch /var/tmp/e2e-marker"]
      creates: /var/tmp/e2e-marker
  - id: old
    task: remove-path
    host: node
    with: { path: /opt/old-stuff }
`,
  );
  return file;
}

/** Runs fileRecipe through the CLI and checks every effect inside the container independently. */
async function recipeRoundTrip(
  t: Teardown,
  docker: Docker,
  container: string,
  socket: string,
  opts: { filesystemDiff: boolean; secondRun: boolean },
): Promise<void> {
  const dir = tempDir(t);
  const env = { KUBESTRAP_HOME: join(dir, 'home') };
  const file = fileRecipe(dir, container, socket);
  assert.equal((await execIn(docker, container, ['sh', '-c', 'mkdir -p /opt/old-stuff/sub && echo old > /opt/old-stuff/sub/file'])).exitCode, 0);

  const planned = await runCli(['plan', file, '--format', 'json'], { env, cwd: dir });
  assert.equal(planned.code, 0, planned.stderr);
  const plan = JSON.parse(planned.stdout) as { steps: { id: string; host: string; status: string; effects: Ev['effect'][] }[] };
  assert.deepEqual(plan.steps.map((s) => [s.id, s.host, s.status]).sort(), [
    ['conf', `docker:${container}`, 'change'],
    ['marker', `docker:${container}`, 'change'],
    ['old', `docker:${container}`, 'change'],
  ]);
  const plannedEffects = plan.steps.flatMap((s) => s.effects).filter((e) => MUTATING.has(e!.kind));
  const write = plannedEffects.find((e) => e!.kind === 'write')!;
  assert.equal(write.path, '/etc/kubestrap-e2e/app.conf');
  assert.equal(write.exists, false);
  const remove = plannedEffects.find((e) => e!.kind === 'remove')!;
  assert.equal(remove.exists, true);
  assert.ok(Number(remove.bytes) > 0, 'the plan measures what it erases inside the container');

  type Change = { Path: string; Kind: number };
  const before = opts.filesystemDiff ? (await docker.getContainer(container).changes()) as Change[] | null : [];
  const ran = await runCli(['run', file, '--yes', '--json'], { env, cwd: dir });
  assert.equal(ran.code, 0, ran.stdout + ran.stderr);
  // The run performed exactly the effects the plan listed.
  const runEffects = events(ran.stdout).filter((e) => e.type === 'effect' && MUTATING.has(e.effect!.kind)).map((e) => e.effect);
  const norm = (list: Ev['effect'][]) => list.map((e) => JSON.stringify(e)).sort();
  assert.deepEqual(norm(runEffects), norm(plannedEffects));

  // Independent checks inside the container.
  const conf = await execIn(docker, container, ['stat', '-c', '%a %U %s', '/etc/kubestrap-e2e/app.conf']);
  assert.equal(conf.stdout.trim(), `640 root ${write.bytes}`);
  assert.equal((await execIn(docker, container, ['cat', '/etc/kubestrap-e2e/app.conf'])).stdout, "greeting = hello\nquote = 'it''s'\n");
  assert.equal((await execIn(docker, container, ['cat', '/var/tmp/e2e-runs'])).stdout, "greeting = hello\nquote = 'it''s'\n");
  assert.notEqual((await execIn(docker, container, ['test', '-e', '/opt/old-stuff'])).exitCode, 0);

  if (opts.filesystemDiff) {
    // Nothing changed in the container's filesystem beyond what the plan said (and the parent
    // directories those changes touch): compare the engine's own change lists.
    const after = (await docker.getContainer(container).changes()) as Change[] | null;
    const key = (c: Change) => `${c.Kind}:${c.Path}`;
    const was = new Set((before ?? []).map(key));
    const now = new Set((after ?? []).map(key));
    const appeared = [...now].filter((k) => !was.has(k)).map((k) => k.slice(2)).sort();
    const vanished = [...was].filter((k) => !now.has(k)).map((k) => k.slice(2)).sort();
    // Each path is a planned one, a file the planned command makes, or a directory above one of them.
    const made = ['/etc/kubestrap-e2e/app.conf', '/var/tmp/e2e-runs', '/var/tmp/e2e-marker'];
    const above = (p: string, target: string) => target === p || target.startsWith(p === '/' ? '/' : `${p}/`);
    assert.ok(made.every((p) => appeared.includes(p)), `missing changes: ${JSON.stringify(appeared)}`);
    assert.deepEqual(appeared.filter((p) => !made.some((m) => above(p, m))), [], 'changes the plan did not list');
    assert.ok(vanished.includes('/opt/old-stuff/sub/file'));
    assert.deepEqual(vanished.filter((p) => !above(p, '/opt/old-stuff') && !above('/opt/old-stuff', p)), [], 'removals the plan did not list');
  }

  if (!opts.secondRun) return;
  // A second run changes nothing: every step's check says done, the file keeps its inode, the command did not run again.
  const inode = (await execIn(docker, container, ['stat', '-c', '%i', '/etc/kubestrap-e2e/app.conf'])).stdout;
  const again = await runCli(['run', file, '--yes', '--json'], { env, cwd: dir });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const finished = events(again.stdout).filter((e) => e.type === 'step-finish').map((e) => [e.step, e.status]).sort();
  assert.deepEqual(finished, [['conf', 'ok'], ['marker', 'ok'], ['old', 'ok']]);
  assert.deepEqual(
    events(again.stdout).filter((e) => e.type === 'effect' && MUTATING.has(e.effect!.kind) && !(e.effect as { unchanged?: boolean }).unchanged),
    [],
  );
  assert.equal((await execIn(docker, container, ['stat', '-c', '%i', '/etc/kubestrap-e2e/app.conf'])).stdout, inode);
  assert.equal((await execIn(docker, container, ['cat', '/var/tmp/e2e-runs'])).stdout, "greeting = hello\nquote = 'it''s'\n");
}

test('docker host against a private dockerd', { skip: skipDocker, timeout: 15 * 60_000 }, async (t) => {
  const socket = await startDockerd(t);
  const image = await nodeImage(socket);
  const docker = new Docker({ socketPath: socket });
  const name = `ks-e2e-${randomBytes(3).toString('hex')}`;
  await plainContainer(t, socket, image, name);
  const host = await DockerHost.connect({ container: name, socket: `unix://${socket}` });
  t.after(() => host.close());

  await t.test('exec returns stdout, stderr and the exit code; a failure is a result', SUB, async () => {
    assert.equal(host.name, `docker:${name}`);
    assert.equal(host.kind, 'docker');
    assert.equal(host.engine, 'docker');
    const r = await host.exec('echo out; echo err >&2; exit 3');
    assert.deepEqual(r, { stdout: 'out\n', stderr: 'err\n', exitCode: 3, signal: null });
    const missingCmd = await host.exec('no-such-command-here');
    assert.equal(missingCmd.exitCode, 127);
    assert.match(missingCmd.stderr, /not found/);
    // Output far larger than one stream frame, interleaved with stderr, arrives whole and in order.
    const big = await host.exec('i=0; while [ $i -lt 2000 ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); done; head -c 1000000 /dev/zero | tr \'\\0\' x');
    const lines = big.stdout.split('\n');
    assert.equal(lines.length, 2001);
    assert.equal(lines[1999], 'line 1999');
    assert.equal(lines[2000], 'x'.repeat(1_000_000));
    assert.equal(big.stderr.split('\n').length, 2001);
    const seen: string[] = [];
    await host.exec("printf 'a\\nb\\n'; printf 'e\\n' >&2; printf 'c'", { onLine: (s, l) => seen.push(`${s}:${l}`) });
    assert.deepEqual(seen.filter((l) => l.startsWith('stdout')), ['stdout:a', 'stdout:b', 'stdout:c']);
    assert.deepEqual(seen.filter((l) => l.startsWith('stderr')), ['stderr:e']);
    // Multi-byte characters survive frame boundaries.
    assert.equal((await host.exec("printf 'h\\303\\251 \\342\\234\\223'")).stdout, 'hé ✓');
  });

  await t.test('commands without input run one after another in one session; a lost session is replaced', SUB, async () => {
    // The command's parent is the session's shell (core/hosts/docker-session.ts), not an exec of its own.
    const parent = async () => {
      const r = await host.exec('echo "$PPID"; tr "\\0" " " < /proc/$PPID/cmdline');
      assert.equal(r.exitCode, 0, r.stderr);
      const eol = r.stdout.indexOf('\n');
      return { pid: r.stdout.slice(0, eol), cmdline: r.stdout.slice(eol + 1) };
    };
    const first = await parent();
    assert.match(first.cmdline!, /kubestrap-session/);
    assert.deepEqual(await parent(), first);
    // The text goes through exactly: several lines, a final newline, output with no newline at the end.
    assert.deepEqual(await host.exec("printf 'x'\nprintf 'y' >&2\n\n"), { stdout: 'x', stderr: 'y', exitCode: 0, signal: null });
    // The command sees its KUBESTRAP_EXEC token, and printing its environment does not end its output early.
    const env = await host.exec('env; echo after');
    assert.match(env.stdout, /^KUBESTRAP_EXEC=[0-9a-f]{24}$/m);
    assert.match(env.stdout, /after\n$/);
    // The session's shell goes away while a command runs: that command fails, the next one gets a new session.
    const failed = assert.rejects(host.exec('sleep 2; echo late'), new RegExp(`the connection to docker:${name} failed`));
    await new Promise((r) => setTimeout(r, 300));
    await execIn(docker, name, ['pkill', '-f', 'kubestrap-session']);
    await failed;
    const next = await parent();
    assert.notEqual(next.pid, first.pid);
    assert.match(next.cmdline!, /kubestrap-session/);
  });

  await t.test('stdin is written and closed; without stdin a reader sees end of file', SUB, async () => {
    assert.equal((await host.exec('cat', { stdin: 'hello\nworld' })).stdout, 'hello\nworld');
    const bytes = randomBytes(3 * 1024 * 1024);
    const r = await host.exec('sha256sum', { stdin: bytes });
    assert.equal(r.stdout.split(' ')[0], createHash('sha256').update(bytes).digest('hex'));
    // A command that never reads its stdin still returns its own result.
    assert.equal((await host.exec('exit 4', { stdin: randomBytes(4 * 1024 * 1024) })).exitCode, 4);
    const empty = await host.exec('cat; echo done');
    assert.equal(empty.stdout, 'done\n');
  });

  await t.test('small input goes through the session exactly, and in no process arguments; larger input gets an exec', SUB, async () => {
    // Every byte value, a leading "-" (an option to printf), printf's own % and \, newlines, no final newline.
    const all = Buffer.concat([Buffer.from('-%s%%\\n\\\n\n'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\nend')]);
    for (const input of [all, Buffer.alloc(0), Buffer.from('\n'), randomBytes(64 * 1024)]) {
      const r = await host.exec('sha256sum; tr "\\0" " " < /proc/$PPID/cmdline', { stdin: input });
      assert.equal(r.exitCode, 0, r.stderr);
      // The parent's command line (the session's script) spans several lines.
      const eol = r.stdout.indexOf('\n');
      const [sum, parent] = [r.stdout.slice(0, eol), r.stdout.slice(eol + 1)];
      assert.equal(sum.split(' ')[0], createHash('sha256').update(input).digest('hex'), `${input.length} bytes`);
      assert.match(parent, /kubestrap-session/, `${input.length} bytes: in the session`);
    }
    assert.equal((await host.exec('cat', { stdin: 'secret-in-input' })).stdout, 'secret-in-input');
    // What a process list shows while a command reads its input: not the input.
    const seen = await host.exec('for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done 2>/dev/null; cat >/dev/null', { stdin: 'secret-in-input' });
    assert.doesNotMatch(seen.stdout, /secret-in-input/);
    const larger = randomBytes(64 * 1024 + 1);
    const r = await host.exec('sha256sum; tr "\\0" " " < /proc/$PPID/cmdline', { stdin: larger });
    assert.equal(r.stdout.split(' ')[0], createHash('sha256').update(larger).digest('hex'));
    assert.doesNotMatch(r.stdout.slice(r.stdout.indexOf('\n') + 1), /kubestrap-session/);
  });

  await t.test('many execs at once on one client', SUB, async () => {
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => host.exec(`sleep 1; echo ${i}; echo e${i} >&2; exit ${i}`)));
    const ms = Date.now() - started;
    results.forEach((r, i) => assert.deepEqual([r.stdout, r.stderr, r.exitCode], [`${i}\n`, `e${i}\n`, i]));
    // One after another they would take 16 s; starting an exec costs ~0.1 s of CPU here.
    assert.ok(ms < 8000, `16 execs of 1 s took ${ms} ms: they did not run concurrently`);
  });

  await t.test('abort and timeout stop the command and everything it started', SUB, async () => {
    const gone = async (pattern: string) => (await execIn(docker, name, ['pgrep', '-f', pattern])).exitCode === 1;
    const ac = new AbortController();
    let t0 = Date.now();
    const running = host.exec('sleep 31 & sudo -n sh -c "sleep 32; echo never"; echo never', { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!(await gone('sleep 32')), 'the command runs before the abort');
    ac.abort();
    const aborted = await running;
    assert.deepEqual([aborted.exitCode, aborted.signal, aborted.stdout], [null, 'SIGTERM', '']);
    assert.ok(Date.now() - t0 < 5000);
    assert.ok(await gone('sleep 31'), 'the background child was stopped too');
    assert.ok(await gone('sleep 32'), 'the child under sudo was stopped too');

    // A command that ignores SIGTERM is killed after the grace period.
    t0 = Date.now();
    const stubborn = await host.exec("trap '' TERM; sleep 33; echo never", { timeoutMs: 300 });
    const ms = Date.now() - t0;
    assert.deepEqual([stubborn.exitCode, stubborn.signal], [null, 'SIGKILL']);
    assert.ok(ms >= 2000 && ms < 8000, `killed after ${ms} ms`);
    assert.ok(await gone('sleep 33'));

    const timed = await host.exec('sleep 34', { timeoutMs: 300 });
    assert.deepEqual([timed.exitCode, timed.signal], [null, 'SIGTERM']);
    await assert.rejects(host.exec('true', { signal: AbortSignal.abort() }));
  });

  await t.test('files, stat and facts through the exec channel; another user', SUB, async () => {
    await host.exec('printf "a\\0b" > /tmp/bin-file; chmod 0600 /tmp/bin-file');
    assert.deepEqual(Buffer.from((await host.readFile('/tmp/bin-file'))!), Buffer.from('a\0b'));
    assert.equal(await host.readFile('/nonexistent'), null);
    const st = await host.stat('/tmp/bin-file');
    assert.deepEqual([st.exists, st.isDir, st.size, st.mode], [true, false, 3, '0600']);
    assert.equal((await host.stat('/etc')).isDir, true);
    assert.deepEqual(await host.facts(), { uid: 0, gid: 0, user: 'root', home: '/root' });
    const nobody = await DockerHost.connect({ container: name, socket, user: 'nobody' });
    assert.equal((await nobody.facts()).uid, 65534);
    assert.deepEqual(nobody.shellPrefix(), ['docker', '-H', `unix://${socket}`, 'exec', '-i', '-u', 'nobody', name, 'sh', '-c']);
  });

  await t.test('shellPrefix reaches the same container with the docker CLI', { ...SUB, skip: hasBinary('docker') ? undefined : 'no docker CLI' }, async () => {
    const prefix = host.shellPrefix();
    assert.deepEqual(prefix, ['docker', '-H', `unix://${socket}`, 'exec', '-i', name, 'sh', '-c']);
    const out = execFileSync(prefix[0]!, [...prefix.slice(1), 'cat > /tmp/from-cli; hostname'], { input: 'via cli', encoding: 'utf8' });
    assert.equal(out.trim(), (await execIn(docker, name, ['hostname'])).stdout.trim());
    assert.equal((await execIn(docker, name, ['cat', '/tmp/from-cli'])).stdout, 'via cli');
  });

  await t.test('clear errors: no daemon, no container, a stopped container', SUB, async () => {
    await assert.rejects(DockerHost.connect({ container: name, socket: '/nonexistent/docker.sock' }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.reason, 'DOCKER_UNREACHABLE');
      assert.match(e.message, /\/nonexistent\/docker\.sock: no such socket/);
      assert.match(e.fix ?? '', /dockerd|DOCKER_HOST/);
      return true;
    });
    await assert.rejects(
      DockerHost.connect({ container: 'ks-no-such-container', socket }),
      (e: unknown) => e instanceof UserError && e.reason === 'DOCKER_NO_CONTAINER' && /does not exist/.test(e.message),
    );
    const stopped = await docker.createContainer({ name: `${name}-stopped`, Image: image, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
    t.after(async () => {
      await stopped.remove({ force: true }).catch(() => {});
    });
    await assert.rejects(
      DockerHost.connect({ container: `${name}-stopped`, socket }),
      (e: unknown) =>
        e instanceof UserError && e.reason === 'DOCKER_NO_CONTAINER' && /is not running \(created\)/.test(e.message) && /docker start/.test(e.fix ?? ''),
    );
    // Without a socket, DOCKER_HOST decides (the engine's environment, not the process's); one that
    // is not a unix socket is refused clearly.
    assert.equal((await (await DockerHost.connect({ container: name, dockerHost: `unix://${socket}` })).exec('echo via-env')).stdout, 'via-env\n');
    await assert.rejects(
      DockerHost.connect({ container: name, dockerHost: 'tcp://127.0.0.1:2375' }),
      (e: unknown) => e instanceof UserError && e.reason === 'DOCKER_UNREACHABLE' && /from DOCKER_HOST/.test(e.message),
    );
    {
      const dir = tempDir(t);
      const file = join(dir, 'env.yaml');
      writeFileSync(
        file,
        `name: env\nhosts:\n  node: { docker: { container: ${name} } }\nsteps:\n  - { id: a, task: write-file, host: node, with: { path: /tmp/via-env, content: x } }\n`,
      );
      const r = await runCli(['plan', file], { env: { KUBESTRAP_HOME: join(dir, 'home'), DOCKER_HOST: `unix://${socket}` }, cwd: dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`create /tmp/via-env on docker:${name}`));
    }
    // Through the CLI the step that needs the host fails with that one line, and the exit code says bad input.
    const dir = tempDir(t);
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `name: bad\nhosts:\n  node: { docker: { container: ks-no-such-container, socket: ${socket} } }\nsteps:\n  - { id: a, task: run-command, host: node, with: { argv: ["true"] } }\n`,
    );
    const r = await runCli(['plan', file], { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /container ks-no-such-container does not exist .*\[DOCKER_NO_CONTAINER\]/);
  });

  await t.test('a recipe runs on the container through the CLI, exactly as planned, and a second run changes nothing', SUB, async () => {
    await recipeRoundTrip(t, docker, name, socket, { filesystemDiff: true, secondRun: true });
  });

  await t.test(
    'the plan as a shell script does the same through the docker CLI',
    { ...SUB, skip: hasBinary('docker') ? undefined : 'no docker CLI' },
    async () => {
      const fresh = `${name}-sh`;
      await plainContainer(t, socket, image, fresh);
      const dir = tempDir(t);
      const env = { KUBESTRAP_HOME: join(dir, 'home') };
      const file = fileRecipe(dir, fresh, socket);
      await execIn(docker, fresh, ['sh', '-c', 'mkdir -p /opt/old-stuff && echo old > /opt/old-stuff/file']);
      const sh = await runCli(['plan', file, '--format', 'sh'], { env, cwd: dir });
      assert.equal(sh.code, 0, sh.stderr);
      assert.ok(sh.stdout.split('\n').some((l) => l.startsWith(`docker -H unix://${socket} exec -i ${fresh} sh -c `)), sh.stdout);
      writeFileSync(join(dir, 'plan.sh'), sh.stdout);
      execFileSync('bash', [join(dir, 'plan.sh')], { stdio: 'pipe' });
      assert.equal((await execIn(docker, fresh, ['stat', '-c', '%a', '/etc/kubestrap-e2e/app.conf'])).stdout, '640\n');
      assert.equal((await execIn(docker, fresh, ['cat', '/var/tmp/e2e-runs'])).stdout, "greeting = hello\nquote = 'it''s'\n");
      assert.notEqual((await execIn(docker, fresh, ['test', '-e', '/opt/old-stuff'])).exitCode, 0);
      // kubestrap now finds nothing left to do: the script did what a run would have done.
      const after = JSON.parse((await runCli(['plan', file, '--format', 'json'], { env, cwd: dir })).stdout) as { steps: { status: string }[] };
      assert.deepEqual(after.steps.map((s) => s.status), ['ok', 'ok', 'ok']);
    },
  );

  await t.test('a systemd node container: a recipe writes a unit and manage-service enables and starts it', SUB, async (t2) => {
    const node = await startNodeContainer(t2, socket, image, `${name}-node`);
    assert.match(node.state, /^(running|degraded)$/);
    const dir = tempDir(t2);
    const env = { KUBESTRAP_HOME: join(dir, 'home') };
    const file = join(dir, 'service.yaml');
    writeFileSync(
      file,
      `name: node-service
hosts:
  node: { docker: { container: ${node.name}, socket: ${socket} } }
steps:
  - id: unit
    task: write-file
    host: node
    with:
      path: /etc/systemd/system/ks-hello.service
      content: |
        [Unit]
        Description=kubestrap e2e service
        [Service]
        ExecStart=/bin/sh -c 'echo ks-hello started; exec sleep infinity'
        [Install]
        WantedBy=multi-user.target
  - id: service
    task: manage-service
    host: node
    needs: [unit]
    with: { name: ks-hello.service }
`,
    );
    const before = await execIn(new Docker({ socketPath: socket }), node.name, ['systemctl', 'is-active', 'ks-hello.service']);
    assert.notEqual(before.stdout.trim(), 'active');
    const ran = await runCli(['run', file, '--yes', '--json'], { env, cwd: dir });
    assert.equal(ran.code, 0, ran.stdout + ran.stderr);
    const services = events(ran.stdout).filter((e) => e.type === 'effect' && e.effect!.kind === 'service').map((e) => e.effect!.action);
    assert.deepEqual(services, ['enable', 'start']);
    const d = new Docker({ socketPath: socket });
    assert.equal((await execIn(d, node.name, ['systemctl', 'is-active', 'ks-hello.service'])).stdout.trim(), 'active');
    assert.equal((await execIn(d, node.name, ['systemctl', 'is-enabled', 'ks-hello.service'])).stdout.trim(), 'enabled');
    assert.match((await execIn(d, node.name, ['pgrep', '-a', 'sleep'])).stdout, /sleep infinity/);
    const again = await runCli(['run', file, '--yes', '--json'], { env, cwd: dir });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(events(again.stdout).filter((e) => e.type === 'step-finish').map((e) => e.status), ['ok', 'ok']);
  });
});

test('docker host against a private podman service', { skip: skipPodman, timeout: 10 * 60_000 }, async (t) => {
  const socket = await startPodman(t);
  const image = await nodeImage(socket);
  const docker = new Docker({ socketPath: socket });
  const name = `ks-e2e-podman-${randomBytes(3).toString('hex')}`;
  await plainContainer(t, socket, image, name);
  const host = await DockerHost.connect({ container: name, socket });
  t.after(() => host.close());

  await t.test('exec, stdin and concurrent execs through the podman socket', SUB, async () => {
    assert.equal(host.engine, 'podman');
    const prefix = host.shellPrefix();
    assert.deepEqual(prefix, ['podman', '--url', `unix://${socket}`, 'exec', '-i', name, 'sh', '-c']);
    assert.equal(
      execFileSync(prefix[0]!, [...prefix.slice(1), 'cat; hostname'], { input: 'via podman\n', encoding: 'utf8' }),
      `via podman\n${(await host.exec('hostname')).stdout}`,
    );
    assert.deepEqual(await host.exec('echo out; echo err >&2; exit 5'), { stdout: 'out\n', stderr: 'err\n', exitCode: 5, signal: null });
    const bytes = randomBytes(1024 * 1024);
    assert.equal((await host.exec('sha256sum', { stdin: bytes })).stdout.split(' ')[0], createHash('sha256').update(bytes).digest('hex'));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => host.exec(`echo ${i}`)));
    assert.deepEqual(results.map((r) => r.stdout), results.map((_, i) => `${i}\n`));
    const timed = await host.exec('sleep 35', { timeoutMs: 300 });
    assert.deepEqual([timed.exitCode, timed.signal], [null, 'SIGTERM']);
  });

  await t.test('a recipe runs on the podman container through the CLI', SUB, async () => {
    await recipeRoundTrip(t, docker, name, socket, { filesystemDiff: false, secondRun: false });
  });
});

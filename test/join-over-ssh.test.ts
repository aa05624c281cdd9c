// The VM drivers' join: kubeadm-join-command makes the join command on the control plane and hands
// it on as a secret output; kubeadm-join-node feeds it to kubeadm join on stdin. Run for real on
// this machine with a stand-in kubeadm (the real one needs a control plane, which needs an image
// registry): the stand-in prints a join command as kubeadm does and records how join was called.
// The token must reach kubeadm join, and nothing else: not the plan, the events, the state file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli.ts';
import { isRoot, tempDir } from './helpers/env.ts';

const TOKEN = 'abcdef.0123456789abcdef';
const HASH = `sha256:${'7'.repeat(64)}`;
const JOIN = `kubeadm join 192.0.2.10:8443 --token ${TOKEN} --discovery-token-ca-cert-hash ${HASH}`;

test("a worker joins with the control plane's join command, which no plan, event or state shows", {
  skip: isRoot ? undefined : 'needs root (kubeadm runs as root)',
}, async (t) => {
  const dir = tempDir(t);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'kubeadm'),
    `#!/bin/sh\ncase "$1" in\n  token) echo ${JSON.stringify(JOIN)} ;;\n  join) printf '%s\\n' "$@" > "$(dirname "$0")/join.log" ;;\n  *) exit 2 ;;\nesac\n`,
  );
  writeFileSync(join(bin, 'kubectl'), '#!/bin/sh\nexit 1\n');
  for (const f of ['kubeadm', 'kubectl']) chmodSync(join(bin, f), 0o755);
  const recipe = join(dir, 'join.yaml');
  writeFileSync(
    recipe,
    `name: join
steps:
  - id: token
    task: kubeadm-join-command
    with: { kubernetesVersion: v1.35.0, binDir: "${bin}", nodes: 2 }
  - id: join
    task: kubeadm-join-node
    needs: [token]
    with: { joinCommand: "\${{ steps.token.outputs.command }}", binDir: "${bin}", kubernetesVersion: v1.35.0, nodeName: kst-m02 }
`,
  );
  const home = join(dir, 'home');
  const env = { env: { KUBESTRAP_HOME: home }, cwd: dir };

  const plan = await runCli(['plan', recipe, '-p', 'kst'], env);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /kubeadm token create --ttl 15m --print-join-command/);
  assert.match(plan.stdout, /kubeadm-join .*\/kubeadm --node-name kst-m02 .*\(fed \$KUBESTRAP_JOIN_COMMAND, a secret, on stdin\)/);
  const sh = await runCli(['plan', recipe, '-p', 'kst', '--format', 'sh'], env);
  assert.match(sh.stdout, /^printf '%s\\n' "\$\{KUBESTRAP_JOIN_COMMAND:\?set KUBESTRAP_JOIN_COMMAND first\}" \| .*kubeadm-join /m);

  const run = await runCli(['run', recipe, '-p', 'kst', '--yes', '--json'], env);
  assert.equal(run.code, 0, run.stderr + run.stdout.slice(-2000));
  // kubeadm join got the control plane's command, and the worker's own settings after it.
  assert.deepEqual(readFileSync(join(bin, 'join.log'), 'utf8').trim().split('\n'), [
    'join',
    '192.0.2.10:8443',
    '--token',
    TOKEN,
    '--discovery-token-ca-cert-hash',
    HASH,
    '--node-name',
    'kst-m02',
    '--cri-socket',
    'unix:///run/containerd/containerd.sock',
    '--ignore-preflight-errors=all',
  ]);
  const state = readFileSync(join(home, 'profiles', 'kst', 'state.json'), 'utf8');
  for (const [what, text] of [['events', run.stdout], ['stderr', run.stderr], ['state.json', state], ['plan', plan.stdout + sh.stdout]] as const) {
    assert.ok(!text.includes(TOKEN) && !text.includes(HASH), `${what} shows the join command`);
  }
  assert.match(state, /<secret:token\.command>/);
});

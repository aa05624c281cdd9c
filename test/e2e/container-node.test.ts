// provision-node against real engines: a node container boots systemd as PID 1 with the planned
// configuration, the host's mounts (cgroups above all), firewall, interfaces and processes are the
// same before and after, a second plan finds the node done, and a container kubestrap did not make
// is never taken over. The image is Debian built locally with mmdebstrap (no registry here).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { PlanDocument } from '../../core/plan.ts';
import { runCli } from '../helpers/cli.ts';
import { DOCKER_INSTALL, PODMAN_INSTALL, startDockerd, startPodman } from '../helpers/dockerd.ts';
import { isRoot, missing, tempDir } from '../helpers/env.ts';
import { cgroupSharers, hostChangesExplained, type Sharer, sharersBesides, snapshotHost } from '../helpers/host-state.ts';
import { execIn, MMDEBSTRAP_INSTALL, nodeImage } from '../helpers/node-image.ts';
import { CGROUP_RW_SCRIPT } from '../../tasks/container/privileges.ts';
import { quote } from '../../core/quote.ts';

const base = missing(['mmdebstrap'], MMDEBSTRAP_INSTALL) ?? (isRoot ? undefined : 'needs root');
const ENGINES = [
  { engine: 'docker', start: startDockerd, skip: base ?? missing(['dockerd', 'containerd'], DOCKER_INSTALL) },
  { engine: 'podman', start: startPodman, skip: base ?? missing(['podman'], PODMAN_INSTALL) },
] as const;

type Teardown = { after(fn: () => void | Promise<void>): void };

for (const { engine, start, skip } of ENGINES) {
  describe(`provision-node on ${engine}`, { skip }, () => {
    it('boots systemd in the planned container, changes nothing on the host, and refuses a name it did not create', { timeout: 600_000 }, async (t) => {
      const dir = tempDir(t);
      const profile = `ks-i9n-${randomBytes(3).toString('hex')}`;
      const names: string[] = [profile];
      const before = snapshotHost();
      const sharers: Sharer[] = cgroupSharers();
      // The engine is stopped inside the test, so the host can be compared after it is gone.
      const teardown: (() => void | Promise<void>)[] = [];
      const td: Teardown = {
        after: (fn) => {
          teardown.push(fn);
        },
      };
      try {
        const socket = await start(td);
        names.push(socket.replace(/\/[^/]+$/, ''));
        const docker = new Docker({ socketPath: socket });
        const image = await nodeImage(socket);
        const recipe = join(dir, 'node.yaml');
        const write = (name: string) =>
          writeFileSync(
            recipe,
            `name: node
steps:
  - id: network
    task: create-container-network
    with: { engine: ${engine}, socket: "unix://${socket}", name: ${profile}, subnet: 192.168.202.0/24, subnetStep: 1, subnetTries: 18 }
  - id: node
    task: provision-node
    needs: [network]
    with:
      engine: ${engine}
      socket: "unix://${socket}"
      name: ${name}
      image: "${image}"
      network: \${{ steps.network.outputs.network }}
      subnet: \${{ steps.network.outputs.subnet }}
      cpus: 1
      memory: 1024
`,
          );
        write(profile);
        const env = { env: { KUBESTRAP_HOME: join(dir, 'home') }, cwd: dir };
        const cli = engine === 'docker' ? `docker -H unix://${socket}` : `podman --url unix://${socket}`;

        const plan = await runCli(['plan', recipe, '-p', profile, '--format', 'json'], env);
        assert.equal(plan.code, 0, plan.stderr + plan.stdout.slice(-1500));
        const doc = JSON.parse(plan.stdout) as PlanDocument;
        const subnet = /--subnet (\S+)/.exec(JSON.stringify(doc.steps[0]!.effects))![1]!;
        const ip = subnet.replace(/0\/24$/, '2');
        const node = doc.steps[1]!;
        const commands = node.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command);
        const labels = `--label io.kubestrap.created-by=kubestrap --label io.kubestrap.profile=${profile}`;
        const privileges = engine === 'docker'
          ? '--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined'
          : '--privileged --security-opt seccomp=unconfined';
        const devices = engine === 'docker' ? ' --device /dev/kmsg' : '';
        const entry = engine === 'docker' ? ` --entrypoint /bin/sh ${image} -c ${quote(CGROUP_RW_SCRIPT)} kubestrap-node /sbin/init` : ` ${image} /sbin/init`;
        // This machine may have no /lib/modules (a kernel without modules): then there is nothing to bind.
        const modules = existsSync('/lib/modules') ? ' --volume /lib/modules:/lib/modules:ro' : '';
        const limits = engine === 'docker' ? ' --cpus=1 --memory=1024m' : ' --cpus=1 --memory=1024m';
        assert.deepEqual(commands, [
          `${cli} volume create ${labels} --label io.kubestrap.role=control-plane ${profile}`,
          `${cli} run -d --name ${profile} --hostname ${profile} ${labels} --label io.kubestrap.role=control-plane --label io.kubestrap.runtime=containerd ${privileges} --cgroupns private --tmpfs /run --tmpfs /tmp${modules} --volume ${profile}:/var${
            engine === 'podman' ? ':exec' : ''
          }${devices} --network ${profile} --ip ${ip} --env container=${engine} --stop-signal SIGRTMIN+3${limits} --publish 127.0.0.1::8443/tcp${entry}`,
          `${cli} exec ${profile} sh -c ${
            quote('until s=$(systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]; do sleep 0.2; done; echo "$s"')
          }`,
        ]);
        if (engine === 'docker') {
          assert.ok((node.notes ?? []).some((n) => /without --privileged: .*CAP_SYS_RESOURCE/.test(n.message)), JSON.stringify(node.notes));
        }

        const run = await runCli(['run', recipe, '-p', profile, '--yes', '--json'], env);
        const failed = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; error?: string }).find((e) =>
          e.type === 'step-failed'
        );
        assert.equal(run.code, 0, `${run.stderr}${failed?.error ?? ''}`);

        const c = await docker.getContainer(profile).inspect();
        names.push(c.Id);
        assert.equal(c.State.Running, true);
        assert.equal(c.Config.Hostname, profile);
        assert.equal(c.Config.Labels['io.kubestrap.profile'], profile);
        assert.equal(c.NetworkSettings.Networks[profile]?.IPAddress, ip);
        assert.equal(c.HostConfig.Privileged, engine === 'podman');
        // Its own cgroup namespace (podman: created through its own API, which keeps the setting).
        assert.notEqual(readlinkSync(`/proc/${c.State.Pid}/ns/cgroup`), readlinkSync('/proc/self/ns/cgroup'));
        assert.deepEqual(c.NetworkSettings.Ports['8443/tcp']?.map((b) => b.HostIp), ['127.0.0.1']);
        assert.ok(Number(c.NetworkSettings.Ports['8443/tcp']?.[0]?.HostPort) > 0);
        const sh = (script: string) => execIn(docker, profile, ['sh', '-c', script]);
        // Nothing of /proc masked: runc in the node mounts a fresh procfs for each pod.
        assert.equal((await sh('grep -c " /proc/" /proc/self/mountinfo || true')).stdout.trim(), '0');
        assert.match((await sh('systemctl is-system-running')).stdout.trim(), /^(running|degraded)$/);
        assert.equal((await sh('readlink /proc/1/exe')).stdout.trim(), '/usr/lib/systemd/systemd');
        assert.equal((await sh('findmnt -no FSTYPE /run; findmnt -no FSTYPE /tmp')).stdout.trim().split('\n').join(' '), 'tmpfs tmpfs');
        if (modules) assert.equal((await sh('findmnt -no OPTIONS /lib/modules | cut -d, -f1')).stdout.trim(), 'ro');
        // The node's cgroups are its own and writable (the runtime in it makes cgroups for pods).
        const cg = await sh('mkdir /sys/fs/cgroup/memory/kubestrap-probe && rmdir /sys/fs/cgroup/memory/kubestrap-probe && echo ok');
        assert.equal(cg.stdout.trim(), 'ok', cg.stderr);
        // Its /sys/fs/cgroup is a tmpfs of its own, not the host's: nothing it does there reaches the host's mount.
        const hostCgroupDev = before.mounts.find((m) => m.startsWith('/sys/fs/cgroup '))!.split(' ')[2];
        const nodeCgroupDev = (await sh('grep " /sys/fs/cgroup " /proc/self/mountinfo')).stdout.split(' ')[2];
        assert.ok(nodeCgroupDev && nodeCgroupDev !== hostCgroupDev, `${nodeCgroupDev} vs ${hostCgroupDev}`);
        const vols = await docker.listVolumes({ filters: JSON.stringify({ label: [`io.kubestrap.profile=${profile}`] }) });
        assert.deepEqual((vols.Volumes ?? []).map((v) => v.Name), [profile]);
        // The host's cgroup mounts are as they were while the node runs.
        // While the node runs, it does not share the host's cgroup tmpfs (nor its cgroup mounts' options).
        const now = sharersBesides([c.State.Pid]);
        assert.deepEqual(now.mine, []);
        sharers.push(...now.others);
        if (!sharers.length) assert.deepEqual(snapshotHost().cgroups, before.cgroups);

        const again = await runCli(['plan', recipe, '-p', profile, '--format', 'json'], env);
        assert.deepEqual((JSON.parse(again.stdout) as PlanDocument).steps.map((s) => s.status), ['ok', 'ok']);

        // kubeadm-join with a stand-in kubeadm (TEST DOUBLE: no registry here for a real control
        // plane) that makes a join command with a token-shaped secret: the worker gets it on stdin,
        // and it appears nowhere in the run's output, events, saved state or plan.
        const token = `${randomBytes(3).toString('hex')}.${randomBytes(8).toString('hex')}`;
        const caHash = `sha256:${randomBytes(32).toString('hex')}`;
        const kubeadm = '/var/lib/kubestrap/binaries/v1.31.4/kubeadm';
        const standIn = [
          '#!/bin/sh',
          '# TEST DOUBLE: stand-in kubeadm.',
          'case "$1" in',
          `token) echo "kubeadm join ${ip}:8443 --token ${token} --discovery-token-ca-cert-hash ${caHash}";;`,
          'join) shift; printf \'%s\\n\' "$@" > /tmp/joined; mkdir -p /etc/kubernetes; : > /etc/kubernetes/kubelet.conf;;',
          'esac',
          '',
        ].join('\n');
        const put = await sh(
          `mkdir -p ${kubeadm.replace(/\/kubeadm$/, '')} && echo ${
            Buffer.from(standIn).toString('base64')
          } | base64 -d > ${kubeadm} && chmod 0755 ${kubeadm} && echo ok`,
        );
        assert.equal(put.stdout.trim(), 'ok', put.stderr);
        const joinRecipe = join(dir, 'join.yaml');
        writeFileSync(
          joinRecipe,
          `name: join
steps:
  - id: join
    task: kubeadm-join
    with: { engine: ${engine}, socket: "unix://${socket}", controlPlane: ${profile}, worker: ${profile}, kubernetesVersion: v1.31.4 }
`,
        );
        const joinPlan = await runCli(['plan', joinRecipe, '-p', profile, '--format', 'json'], env);
        const joinRun = await runCli(['run', joinRecipe, '-p', profile, '--yes', '--json', '--verbose'], env);
        assert.equal(joinRun.code, 0, joinRun.stderr + joinRun.stdout.slice(-1500));
        const joined = (await sh('cat /tmp/joined')).stdout.trim().split('\n');
        assert.deepEqual(joined, [
          `${ip}:8443`,
          '--token',
          token,
          '--discovery-token-ca-cert-hash',
          caHash,
          '--node-name',
          profile,
          '--cri-socket',
          'unix:///run/containerd/containerd.sock',
          '--ignore-preflight-errors=all',
        ]);
        const state = readFileSync(join(dir, 'home', 'profiles', profile, 'state.json'), 'utf8');
        for (const [what, text] of [['plan', joinPlan.stdout], ['run output', joinRun.stdout + joinRun.stderr], ['saved state', state]] as const) {
          assert.ok(!text.includes(token.split('.')[1]!) && !text.includes(caHash), `the ${what} shows the join secret`);
        }
        const joinAgain = await runCli(['plan', joinRecipe, '-p', profile, '--format', 'json'], env);
        assert.equal((JSON.parse(joinAgain.stdout) as PlanDocument).steps[0]!.status, 'ok', 'a joined node is not joined again');

        // A container with the name a node would take, made by someone else: refused in one line.
        const other = `${profile}-mine`;
        await docker.createContainer({ name: other, Image: image, Cmd: ['sleep', '1'] });
        write(other);
        const clash = await runCli(['plan', recipe, '-p', profile, '--format', 'json'], env);
        const step = (JSON.parse(clash.stdout) as PlanDocument).steps[1] as { status: string; error?: string };
        assert.equal(step.status, 'failed');
        assert.equal(
          step.error,
          `a container named ${other} exists that kubestrap did not create (remove it (${engine} rm -f ${other}) or choose another profile name (-p)) [CONTAINER_NAME_CONFLICT]`,
        );
        await docker.getContainer(other).remove({ force: true });
        await docker.getContainer(profile).remove({ force: true, v: true });
        await docker.getVolume(profile).remove();
        await docker.getNetwork(profile).remove();
      } finally {
        for (const fn of teardown.reverse()) await fn();
      }
      const { changes, foreign } = hostChangesExplained(before, snapshotHost(), { subnets: /\b192\.168\.2[01]\d\./, names: () => names }, sharers);
      if (foreign.length) t.diagnostic(`left out (another suite's container shares the host's cgroup tmpfs): ${foreign.join('; ')}`);
      assert.deepEqual(changes, []);
    });
  });
}

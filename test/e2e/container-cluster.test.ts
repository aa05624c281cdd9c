// A 3-node profile on real engines (a private dockerd, a private podman service), as far as this
// machine allows: the default node image built from Debian, three node containers created at once,
// the none graph in each node up to the kubeadm config (kubeadm itself is the release test double:
// no image registry here, so `kubeadm init` stops the run), the workers' joins planned with the
// join command as a placeholder, an image loaded into every node's containerd, a pod sandbox with a
// bridge CNI address in every node, then delete leaves no container, volume or network, and the
// host is as it was.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { parse } from 'yaml';
import { isMutating } from '../../core/effect-kinds.ts';
import { controlPlaneName } from '../../tasks/k8s/hosts-file.ts';
import type { Effect } from '../../core/effects.ts';
import type { PlanDocument } from '../../core/plan.ts';
import { quote } from '../../core/quote.ts';
import { nodeImagePackages } from '../../tasks/build-node-image.ts';
import { busyboxArchive } from '../helpers/busybox-image.ts';
import { criClient } from '../helpers/cri.ts';
import { adminConf, USER_KUBECONFIG } from '../fixtures/kubeconfigs.ts';
import { runCli } from '../helpers/cli.ts';
import { DOCKER_INSTALL, PODMAN_INSTALL, startDockerd, startPodman } from '../helpers/dockerd.ts';
import { isRoot, missing, tempDir } from '../helpers/env.ts';
import { cgroupSharers, hostChangesExplained, type Sharer, sharersBesides, snapshotHost } from '../helpers/host-state.ts';
import { startRelease } from '../helpers/k8s-release.ts';
import { execIn, MMDEBSTRAP_INSTALL, nodeImage } from '../helpers/node-image.ts';

const VERSION = 'v1.31.4';
const base = missing(['mmdebstrap', 'busybox'], `${MMDEBSTRAP_INSTALL} busybox-static`) ?? (isRoot ? undefined : 'needs root');
const ENGINES = [
  { engine: 'docker', start: startDockerd, skip: base ?? missing(['dockerd', 'containerd'], DOCKER_INSTALL), subnet: '192.168.205.0/24' },
  { engine: 'podman', start: startPodman, skip: base ?? missing(['podman'], PODMAN_INSTALL), subnet: '192.168.212.0/24' },
] as const;

type Event = { type: string; step?: string; error?: string; line?: string; effect?: { kind: string } };

for (const { engine, start, skip, subnet } of ENGINES) {
  describe(`a 3-node ${engine} profile`, { skip }, () => {
    it('comes up to the kubeadm config on every node, loads an image into each, and deletes to nothing', { timeout: 1_800_000 }, async (t) => {
      const dir = tempDir(t);
      const profile = `ks-i9c-${randomBytes(3).toString('hex')}`;
      const nodes = [profile, `${profile}-m02`, `${profile}-m03`];
      const names: string[] = [...nodes];
      const before = snapshotHost();
      const sharers: Sharer[] = cgroupSharers();
      const teardown: (() => void | Promise<void>)[] = [];
      try {
        const socket = await start({
          after: (fn) => {
            teardown.push(fn);
          },
        });
        names.push(socket.replace(/\/[^/]+$/, ''));
        const docker = new Docker({ socketPath: socket });
        const from = await nodeImage(socket, { packages: nodeImagePackages('containerd') });
        const release = await startRelease(
          {
            after: (fn) => {
              teardown.push(fn);
            },
          },
          dir,
          VERSION,
        );
        const sets = [
          `engine=${engine}`,
          `socket=unix://${socket}`,
          `subnet=${subnet}`,
          'subnetStep=1',
          'subnetTries=6',
          `imageFrom=${from}`,
          `binaryMirror=${release.binaryMirror}`,
          `criToolsMirror=${release.criToolsMirror}`,
          `containerdMirror=${release.containerdMirror}`,
          `runcMirror=${release.runcMirror}`,
          `cniPluginsMirror=${release.cniPluginsMirror}`,
          `kubernetesVersion=${VERSION}`,
          'worker1=true',
          'worker2=true',
          'waitTimeout=5',
          // Bridge in each node: the multi-node default (flannel) is a manifest whose images no registry gives here.
          'cni=bridge',
        ].flatMap((s) => ['--set', s]);
        const env = { env: { KUBESTRAP_HOME: join(dir, 'home'), HOME: join(dir, 'user') }, cwd: dir };
        mkdirSync(join(dir, 'user'));
        const cli = engine === 'docker' ? `docker -H unix://${socket}` : `podman --url unix://${socket}`;

        // The plan: joins with the join command as a placeholder, never a token.
        const plan = await runCli(['plan', 'driver-docker', '-p', profile, ...sets, '--format', 'json'], env);
        assert.equal(plan.code, 0, plan.stderr + plan.stdout.slice(-2000));
        const doc = JSON.parse(plan.stdout) as PlanDocument;
        const execs = (id: string) =>
          doc.steps.find((s) => s.id === id)!.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command);
        const kubeadm = `/var/lib/kubestrap/binaries/${VERSION}/kubeadm`;
        for (const w of ['m02', 'm03']) {
          assert.deepEqual(execs(`${w}-join`), [
            `${cli} exec ${profile} ${kubeadm} token create --ttl 15m --print-join-command`,
            `printf '%s\\n' "\${KUBESTRAP_JOIN_COMMAND:?}" | ${cli} exec -i ${profile}-${w} sh -c ${
              quote('read -r join; kubeadm=$1; shift; exec "$kubeadm" ${join#kubeadm } "$@"')
            } kubeadm-join ${kubeadm} --node-name ${profile}-${w} --cri-socket unix:///run/containerd/containerd.sock --ignore-preflight-errors=all`,
          ]);
        }
        assert.doesNotMatch(plan.stdout, /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/, 'no bootstrap token in the plan');
        // The nodes are created side by side: each needs only the network and the image.
        const provisions = doc.steps.filter((s) => s.task === 'provision-node').map((s) => s.id);
        assert.deepEqual(provisions, ['cp-node', 'm02-node', 'm03-node']);

        // The run: everything up to the API server, which the stand-ins cannot start (the stand-in
        // kubeadm writes the files init declares; the stand-in kubectl never reaches a server).
        const run = await runCli(['run', 'driver-docker', '-p', profile, ...sets, '--yes', '--json'], env);
        const events = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
        const failed = events.filter((e) => e.type === 'step-failed');
        assert.deepEqual(failed.map((e) => e.step), ['cp.wait'], `${run.stderr}\n${failed.map((e) => `${e.step}: ${e.error}`).join('\n')}`);
        assert.match(failed[0]!.error!, /the API server did not answer \/livez within 5 s/);
        const finished = new Set(events.filter((e) => e.type === 'step-finish').map((e) => e.step));
        for (const n of ['cp', 'm02', 'm03']) {
          for (const s of ['preflight', 'claim', 'prepare', 'runtime', 'kubernetes', 'kubelet']) assert.ok(finished.has(`${n}.${s}`), `${n}.${s} finished`);
        }
        for (const s of ['kubeadm-config', 'init', 'kubeconfig']) assert.ok(finished.has(`cp.${s}`), `cp.${s} finished`);
        // containerd's release, its configuration and its enabled unit come with the node image: no
        // node's runtime step changes anything (no put, unpack, write, enable or restart).
        const runtimeChanges = events.filter((e) => e.type === 'effect' && /\.runtime$/.test(e.step ?? '') && e.effect && isMutating(e.effect as Effect));
        assert.deepEqual(runtimeChanges.map((e) => e.step), [], JSON.stringify(runtimeChanges.slice(0, 4)).slice(0, 3000));
        // So do the CNI plugins: each node's cni step writes the bridge configuration and nothing else.
        const cniWrites = events.filter((e) => e.type === 'effect' && /\.cni$/.test(e.step ?? '') && e.effect && isMutating(e.effect as Effect));
        const cniPaths = cniWrites.map((e) => (e.effect as { kind: string; path?: string }).path ?? (e.effect as { kind: string }).kind);
        assert.deepEqual(
          [...new Set(cniPaths)].sort(),
          ['/etc/cni/net.d/1-kubestrap-bridge.conflist', '/var/lib/kubestrap/cni/1-kubestrap-bridge.conflist'],
          JSON.stringify(cniWrites.slice(0, 4)).slice(0, 3000),
        );
        const starts = events.filter((e) => e.type === 'step-start' && /-node$/.test(e.step ?? '')).map((e) => e.step);
        assert.equal(starts.length, 3);

        for (const n of nodes) {
          const sh = async (script: string) => (await execIn(docker, n, ['sh', '-c', script])).stdout.trim();
          assert.match(await sh('systemctl is-system-running'), /^(running|degraded)$/, n);
          assert.equal(await sh('systemctl is-active containerd'), 'active', n);
          // The releases and binaries the image carries are links in the node's /var volume, not copies.
          assert.equal(
            await sh(`test -L /var/lib/kubestrap/binaries/${VERSION} && test -L /var/cache/kubestrap/containerd-*.tar.gz && echo linked`),
            'linked',
            n,
          );
        }
        // Every node resolves the control plane's name to the control plane (the join command names it).
        const cpIp = Object.values((await docker.getContainer(profile).inspect()).NetworkSettings.Networks)[0]?.IPAddress;
        for (const n of nodes) {
          const line = (await execIn(docker, n, ['getent', 'hosts', controlPlaneName(profile)])).stdout.trim();
          assert.equal(line.split(/\s+/)[0], cpIp, `${n}: ${line}`);
        }
        const pids = await Promise.all(nodes.map(async (n) => (await docker.getContainer(n).inspect()).State.Pid));
        // Each node in its own cgroup namespace: systemd in one sharing the host's would remount the
        // host's cgroup2 with nsdelegate (podman's compatible API dropped the setting).
        for (const [i, pid] of pids.entries()) {
          assert.notEqual(readlinkSync(`/proc/${pid}/ns/cgroup`), readlinkSync('/proc/self/ns/cgroup'), `${nodes[i]} has its own cgroup namespace`);
        }
        const now = sharersBesides(pids);
        assert.deepEqual(now.mine, [], "no node shares the host's cgroup tmpfs");
        sharers.push(...now.others);
        const config = (await execIn(docker, profile, ['cat', '/var/lib/kubestrap/kubeadm.yaml'])).stdout;
        assert.match(config, new RegExp(`advertiseAddress: ${subnet.replace(/0\/24$/, '2').replace(/\./g, '\\.')}`));
        assert.match(config, /kind: InitConfiguration/);

        // image load: tiny images built here (busybox) into the local engine: one to load, and the
        // sandbox (pause) image the nodes' containerd names, which no registry can give them here.
        const runtimeConfig = (await execIn(docker, profile, ['cat', '/etc/containerd/config.toml'])).stdout;
        const pauseImage = /sandbox(?:_image)? = "([^"]+)"/.exec(runtimeConfig)?.[1];
        assert.ok(pauseImage, runtimeConfig);
        const archive = busyboxArchive(dir, [
          { name: 'ks-load-test:1', entrypoint: ['/bin/sh'] },
          { name: pauseImage, entrypoint: ['/bin/sleep', '2147483647'] },
        ]);
        await new Promise<void>((resolve, reject) =>
          docker.loadImage(archive, {}, (err: unknown, stream?: NodeJS.ReadableStream) => {
            if (err || !stream) {
              reject(err);
              return;
            }
            docker.modem.followProgress(stream, (e: unknown) => (e ? reject(e) : resolve()));
          })
        );
        // kubestrap list shows the profile's nodes as the engine sees them.
        const list = await runCli(['list'], env);
        assert.equal(list.code, 0, list.stderr);
        for (const n of nodes) assert.match(list.stdout, new RegExp(`^    ${n}\\s+(control-plane|worker)\\s+running `, 'm'), list.stdout);
        const load = await runCli(['image', 'load', 'ks-load-test:1', '-p', profile, '--yes', '--json'], env);
        const loadFailed = load.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event).find((e) => e.type === 'step-failed');
        assert.equal(load.code, 0, `${load.stderr}${loadFailed?.error ?? ''}`);
        for (const n of nodes) {
          const listed = (await execIn(docker, n, ['ctr', '--namespace', 'k8s.io', 'images', 'ls', '-q'])).stdout;
          assert.match(listed, /ks-load-test:1/, `${n}: ${listed}`);
        }
        const again = await runCli(['image', 'load', 'ks-load-test:1', '-p', profile, '--dry-run', '--format', 'json'], env);
        assert.equal((JSON.parse(again.stdout) as PlanDocument).steps[0]!.status, 'ok', 'a second load finds the image in every node');

        // A pod sandbox in every node (crictl runp, through the CRI from here to each node's socket):
        // the node can run pods, and the bridge CNI gives each one an address from the pod subnet.
        const pause = await runCli(['image', 'load', pauseImage, '-p', profile, '--yes', '--json'], env);
        assert.equal(pause.code, 0, pause.stderr + pause.stdout.slice(-1500));
        for (const [i, n] of nodes.entries()) {
          const cri = criClient(`/proc/${pids[i]}/root/run/containerd/containerd.sock`);
          try {
            const pod = await cri.runPodSandbox(`web-${i}`);
            const status = await cri.podSandboxStatus(pod);
            assert.equal(status.state, 'SANDBOX_READY', n);
            assert.match(status.ip, /^10\.244\.\d+\.\d+$/, `${n}: pod address ${status.ip} is in the pod subnet`);
            await cri.removePodSandbox(pod);
          } finally {
            cri.close();
          }
        }

        // The host's kubeconfig: the recipe merges it once the API server answers, which the stand-in's
        // never does, so its task runs here on its own (state under another home, so the profile's
        // record stays the driver's): the profile's context beside the user's own, mode 0600.
        mkdirSync(join(dir, 'user/.kube'), { recursive: true });
        writeFileSync(join(dir, 'user/.kube/config'), USER_KUBECONFIG, { mode: 0o600 });
        // TEST DOUBLE: the stand-in kubeadm's admin.conf is a placeholder; this is the shape a real
        // kubeadm init writes (cluster, user, context), with dummy credentials.
        const written = await execIn(docker, profile, [
          'sh',
          '-c',
          'printf "%s" "$1" > /etc/kubernetes/admin.conf',
          'sh',
          adminConf('kubernetes', 'https://control-plane.internal:8443'),
        ]);
        assert.equal(written.exitCode, 0, written.stderr);
        const hostPort = (await docker.getContainer(profile).inspect()).NetworkSettings.Ports['8443/tcp']?.[0]?.HostPort;
        assert.ok(hostPort, 'the API server port is published');
        const kcRecipe = join(dir, 'kubeconfig.yaml');
        writeFileSync(
          kcRecipe,
          `name: host-kubeconfig\nsteps:\n  - id: kubeconfig\n    task: container-kubeconfig\n    with: { engine: ${engine}, socket: "unix://${socket}", container: "${profile}", apiserverHostPort: "${hostPort}" }\n`,
        );
        const kc = await runCli(['run', kcRecipe, '-p', profile, '--yes', '--json'], {
          ...env,
          env: { ...env.env, KUBESTRAP_HOME: join(dir, 'home-kubeconfig') },
        });
        assert.equal(kc.code, 0, kc.stderr + kc.stdout.slice(-1500));
        const merged = parse(readFileSync(join(dir, 'user/.kube/config'), 'utf8')) as {
          clusters: { name: string; cluster: { server: string } }[];
          contexts: { name: string }[];
          'current-context': string;
        };
        assert.deepEqual(merged.contexts.map((c) => c.name).sort(), [profile, 'work'].sort());
        assert.equal(merged.clusters.find((c) => c.name === profile)?.cluster.server, `https://127.0.0.1:${hostPort}`);
        assert.equal(merged.clusters.find((c) => c.name === 'work')?.cluster.server, 'https://work:6443');
        assert.equal(merged['current-context'], profile);
        assert.equal(statSync(join(dir, 'user/.kube/config')).mode & 0o777, 0o600);

        // delete: lists, then removes exactly the profile's containers, volumes and network.
        const del = await runCli(['delete', '-p', profile, '--yes', '--json'], env);
        assert.equal(del.code, 0, del.stderr);
        const listing = del.stdout.split('\n').filter(Boolean).map((l) =>
          JSON.parse(l) as { type: string; note?: { message: string } }
        ).find((e) => e.type === 'note')?.note?.message ?? '';
        for (const n of nodes) assert.ok(listing.includes(n), listing);
        const filter = JSON.stringify({ label: [`io.kubestrap.profile=${profile}`] });
        assert.deepEqual(await docker.listContainers({ all: true, filters: filter }), []);
        assert.deepEqual((await docker.listVolumes({ filters: filter })).Volumes ?? [], []);
        assert.deepEqual(await docker.listNetworks({ filters: filter }), []);
        assert.deepEqual((await docker.listContainers({ all: true })).map((c) => c.Names), []);
      } finally {
        for (const fn of teardown.reverse()) await fn();
      }
      const { changes, foreign } = hostChangesExplained(before, snapshotHost(), { subnets: /\b192\.168\.2[01]\d\./, names: () => names }, sharers);
      if (foreign.length) t.diagnostic(`left out (another suite's container shares the host's cgroup tmpfs): ${foreign.join('; ')}`);
      assert.deepEqual(changes, []);
    });
  });
}

// Golden plans for the VM drivers (kvm2 × runtimes × flags, qemu, virtualbox) and their delete and
// repair recipes, made against a workstation with fixed facts (test/helpers/fixed-host.ts) where
// libvirt runs with its default network; plus the pure pieces: subnet search, network and domain
// XML (checked by virt-xml-validate when it is installed), GPU eligibility, the doctor's parsers.
// Regenerate the goldens with UPDATE_GOLDEN=1 and review the diff by eye.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { downloadCachePath, sha256 } from '../core/context.ts';
import * as engine from '../core/engine.ts';
import type { PlanDocument } from '../core/plan.ts';
import { quote } from '../core/quote.ts';
import { renderPlanSh } from '../core/render/plan-sh.ts';
import { renderPlanText } from '../core/render/plan-text.ts';
import { styleFor } from '../core/render/style.ts';
import { findDriver } from '../drivers/index.ts';
import { selectDelete, selectStart } from '../drivers/select.ts';
import { saveState } from '../core/profile.ts';
import { bridgeVerdict, dhcpDrop } from '../tasks/check-libvirt.ts';
import { domainMacs, domainXml } from '../tasks/libvirt/domain.ts';
import { eligibleGpus, parsePci, PCI_SCRIPT } from '../tasks/libvirt/gpu.ts';
import { freeSubnet, networkXml, takenPrefixes } from '../tasks/libvirt/network.ts';
import { DEFAULT_IMAGE_CHECKSUMS } from '../tasks/vm/images.ts';
import { sizeMiB } from '../tasks/vm/size.ts';
import { seedChecksums } from './helpers/checksum-seed.ts';
import { debianWorkstation, FixedHost, type FixedMachine } from './helpers/fixed-host.ts';
import { planOptions } from './helpers/plan-options.ts';
import { hasBinary, repoRoot, tempDir } from './helpers/env.ts';

const GOLDEN = join(repoRoot, 'test', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';
const URI = 'qemu:///system';

const DEFAULT_NET_XML = networkXml({ name: 'default', prefix: '192.168.122', nat: true, bridge: 'virbr0' });
const NET_INFO =
  'Name:           default\nUUID:           3c5a2a5e-8f0e-4b7a-9d55-0c7f1f1e2a10\nActive:         yes\nPersistent:     yes\nAutostart:      yes\nBridge:         virbr0\n';

/** A workstation with libvirt installed and its default network up; a PCI bus with one NVIDIA GPU bound to vfio-pci. */
function kvmWorkstation(): FixedMachine {
  const base = debianWorkstation();
  const m = debianWorkstation({
    commands: [...base.commands, 'virsh', 'qemu-system-x86_64', 'qemu-img', 'genisoimage', 'ssh-keygen', 'ssh'],
    answers: {
      ...base.answers,
      [`virsh -c ${URI} uri`]: `${URI}\n`,
      [`virsh -c ${URI} net-list --all --name`]: 'default\n\n',
      [`virsh -c ${URI} net-info default`]: NET_INFO,
      [`virsh -c ${URI} net-dumpxml --inactive default`]: DEFAULT_NET_XML,
      'ip -4 -o addr show':
        '1: lo    inet 127.0.0.1/8 scope host lo\n2: enp1s0    inet 192.168.1.20/24 brd 192.168.1.255 scope global enp1s0\n3: virbr0    inet 192.168.122.1/24 brd 192.168.122.255 scope global virbr0\n',
      'ip -4 -o route show':
        'default via 192.168.1.1 dev enp1s0\n192.168.1.0/24 dev enp1s0 proto kernel scope link src 192.168.1.20\n192.168.122.0/24 dev virbr0 proto kernel scope link src 192.168.122.1\n',
      [`sh -c ${quote(PCI_SCRIPT)}`]:
        '0000:00:02.0 0x8086 i915 0\n0000:01:00.0 0x10de vfio-pci 1\n0000:01:00.1 0x10de vfio-pci 1\n0000:02:00.0 0x10de nvidia 2\n',
    },
  });
  // The doctor asks the same with a timeout in front.
  for (const [cmd, out] of Object.entries(m.answers)) {
    if (cmd.startsWith('virsh ')) m.answers[`timeout 10 ${cmd}`] = out;
    if (cmd.startsWith('ip ')) m.answers[`timeout 5 ${cmd}`] = out;
  }
  return m;
}

async function planWith(
  t: { after(fn: () => void): void },
  recipe: string,
  params: Record<string, unknown>,
  only?: string[],
  machine = kvmWorkstation(),
): Promise<{ plan: PlanDocument; exitCode: number; home: string }> {
  const home = tempDir(t, 'kubestrap-golden-');
  seedChecksums(home);
  // The default image's published checksums, as a fetch would have cached them.
  const sums = join(home, 'cache', 'downloads');
  const path = downloadCachePath(sums, DEFAULT_IMAGE_CHECKSUMS);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${sha256('stand-in for the cloud image')} *ubuntu-24.04-server-cloudimg-amd64.img\n`);
  const opts = planOptions(home, new FixedHost(machine), only ? { only } : {});
  const { plan, exitCode } = await engine.plan(opts, recipe, params);
  return { plan, exitCode, home };
}

function normalize(text: string, home: string): string {
  return text.split(home).join('$KUBESTRAP_HOME').split(repoRoot).join('<repo>').replace(/sha256:[0-9a-f]{64}/g, 'sha256:<digest>')
    // The domain XML and qemu.json name files under the temp home, so their checksums differ from run to run.
    .replace(/((?:domain\.xml|qemu\.json) 0644 '' '' \d+ )[0-9a-f]{64}/g, '$1<sha256 of a file that names the temp home>');
}

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (update || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
    if (!update) assert.fail(`${name} did not exist: written now, review it and run again`);
    return;
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it; review the diff)`);
}

/** Only the machine steps, where a case is about the VM itself. */
const MACHINE = ['vm'];

const CASES: { name: string; recipe: string; params: Record<string, unknown>; only?: string[] }[] = [
  ...['containerd', 'docker', 'cri-o'].map((runtime) => ({ name: `kvm2-${runtime}`, recipe: 'driver-kvm2', params: { containerRuntime: runtime } })),
  {
    name: 'kvm2-gpu-hidden',
    recipe: 'driver-kvm2',
    params: { kvmGpu: true, kvmHidden: true, network: 'lab', cpus: 4, memory: 8192, diskSize: '40g' },
    only: MACHINE,
  },
  { name: 'kvm2-containerd-3node', recipe: 'driver-kvm2', params: { nodes: 3, worker1: true, worker2: true } },
  { name: 'qemu-containerd', recipe: 'driver-qemu', params: {} },
  { name: 'qemu-containerd-2node', recipe: 'driver-qemu', params: { nodes: 2, worker1: true } },
  { name: 'virtualbox-containerd', recipe: 'driver-virtualbox', params: {} },
  { name: 'virtualbox-containerd-2node', recipe: 'driver-virtualbox', params: { nodes: 2, worker1: true } },
  { name: 'delete-kvm2', recipe: 'delete-kvm2', params: {} },
  { name: 'delete-qemu', recipe: 'delete-qemu', params: {} },
  { name: 'delete-virtualbox', recipe: 'delete-virtualbox', params: {} },
  { name: 'repair-kvm-network-default', recipe: 'repair-kvm-network', params: { network: 'default' } },
];

describe('golden plans of the VM drivers (fixed facts: a Debian 12 workstation with libvirt)', () => {
  const style = styleFor(false, { NO_COLOR: '1' });
  for (const c of CASES) {
    it(c.name, async (t) => {
      const { plan, home } = await planWith(t, c.recipe, c.params, c.only);
      assert.deepEqual(plan.steps.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`), []);
      golden(`${c.name}.plan.txt`, normalize(renderPlanText(plan, style), home));
      golden(`${c.name}.plan.sh`, normalize(renderPlanSh(plan), home));
      if (hasBinary('shellcheck')) execFileSync('shellcheck', ['-s', 'bash', '-S', 'warning', '-'], { input: renderPlanSh(plan) });
    });
  }

  it('kvm2: the domain XML shows --kvm-gpu and --kvm-hidden exactly, and TCG when KVM cannot run a guest', async (t) => {
    const { plan } = await planWith(t, 'driver-kvm2', { kvmGpu: true, kvmHidden: true }, MACHINE);
    const vm = plan.steps.find((s) => s.id === 'vm')!;
    const xml = (vm.effects.find((e) => e.kind === 'write' && e.path.endsWith('/domain.xml')) as { content: string }).content;
    assert.match(xml, /^<domain type='qemu'>/);
    assert.match(xml, /<features>\n {4}<acpi\/>\n {4}<apic\/>\n {4}<pae\/>\n {4}<kvm>\n {6}<hidden state='on'\/>\n {4}<\/kvm>\n {2}<\/features>/);
    // 01:00.0 and 01:00.1 share a clean group bound to vfio-pci; 02:00.0 is bound to nvidia.
    assert.deepEqual([...xml.matchAll(/<address domain='0x0000' bus='0x(\w+)' slot='0x(\w+)' function='0x(\w)'\/>/g)].map((m) => `${m[1]}:${m[2]}.${m[3]}`), [
      '01:00.0',
      '01:00.1',
    ]);
    assert.ok(vm.notes?.some((n) => n.message === 'NVIDIA device 0000:02:00.0 is not passed through: bound to nvidia'));
    const plain = await planWith(t, 'driver-kvm2', {}, MACHINE);
    const plainXml =
      (plain.plan.steps.find((s) => s.id === 'vm')!.effects.find((e) => e.kind === 'write' && e.path.endsWith('/domain.xml')) as { content: string }).content;
    assert.doesNotMatch(plainXml, /<kvm>|<hostdev/);
  });

  it('doctor --driver kvm2 only reads, and every probe has a timeout', async (t) => {
    const { plan } = await planWith(t, 'doctor', { driver: 'kvm2', kvmBootTest: false });
    const libvirt = plan.steps.find((s) => s.id === 'libvirt')!;
    assert.ok(libvirt.effects.length > 5);
    for (const e of libvirt.effects) {
      assert.ok(e.kind === 'probe' || e.kind === 'read', e.kind);
      if (e.kind === 'probe') assert.match(e.command, /^timeout \d+ /);
    }
  });

  it('virtualbox: KVM loaded at the same time blocks the plan with the explanation (minikube #4913)', async (t) => {
    const m = kvmWorkstation();
    const { plan } = await planWith(t, 'driver-virtualbox', {}, MACHINE, { ...m, dirs: [...m.dirs, '/sys/module/kvm_intel'] });
    const notes = plan.steps.find((s) => s.id === 'vm')!.notes ?? [];
    assert.ok(
      notes.some((n) =>
        n.blocks === 'DRV_VIRTUALBOX_KVM_CONFLICT' && n.message.startsWith('the kvm_intel module is loaded: VirtualBox cannot start a VM while KVM holds')
      ),
      JSON.stringify(notes),
    );
  });

  it('kvm2: the private network takes the first free subnet of the search, beside the default network', async (t) => {
    const { plan } = await planWith(t, 'driver-kvm2', {}, MACHINE);
    const net = plan.steps.find((s) => s.id === 'network')!;
    const xml = net.effects.find((e) => e.kind === 'write') as { path: string; content: string };
    assert.match(xml.path, /\/profiles\/kubestrap\/machine\/network-mk-kubestrap\.xml$/);
    assert.match(xml.content, /<ip address='192\.168\.39\.1' netmask='255\.255\.255\.0'>/);
    assert.deepEqual(net.effects.filter((e) => e.kind === 'exec').map((e) => (e as { command: string }).command.replace(/ \S+\.xml$/, ' FILE')), [
      `virsh -c ${URI} net-define FILE`,
      `virsh -c ${URI} net-start mk-kubestrap`,
      `virsh -c ${URI} net-autostart mk-kubestrap`,
    ]);
  });
});

describe('VM drivers in the registry', () => {
  it('kvm (alias) maps its flags to the recipe, both spellings of --gpu and --hidden', async (t) => {
    const home = tempDir(t);
    const a = await selectStart(
      {
        driver: 'kvm',
        kvmGpu: true,
        kvmHidden: true,
        cpus: '4',
        memory: '8g',
        diskSize: '40g',
        network: 'lab',
        kvmNetwork: 'nat',
        kvmQemuUri: 'qemu:///system',
      } as never,
      home,
      'p1',
    );
    assert.equal(a.recipe, 'driver-kvm2');
    assert.deepEqual(a.params, {
      kvmGpu: true,
      kvmHidden: true,
      cpus: 4,
      memory: 8192,
      diskSize: '40g',
      network: 'lab',
      kvmNetwork: 'nat',
      kvmQemuUri: 'qemu:///system',
    });
    const b = await selectStart({ driver: 'kvm2', gpu: true, hidden: true } as never, home, 'p2');
    assert.deepEqual(b.params, { kvmGpu: true, kvmHidden: true });
    await assert.rejects(
      selectStart({ driver: 'kvm2', kvmQemuUri: 'qemu:///session' } as never, home, 'p3'),
      /qemu:\/\/\/session \(a user session\) cannot create the bridges/,
    );
    await assert.rejects(selectStart({ driver: 'qemu', diskSize: 'big' } as never, home, 'p3'), /--disk-size big is not a size/);
    saveState(home, { profile: 'p4', recipe: 'driver-kvm2', recipeFile: '', params: { network: 'lab' }, status: 'ok', finished: '', steps: [] });
    assert.deepEqual(selectDelete({}, home, 'p4'), {
      driver: findDriver('kvm2'),
      recipe: 'delete-kvm2',
      params: { network: 'lab' },
      why: "profile 'p4' was started with it",
    });
    assert.equal(selectDelete({ driver: 'virtualbox' }, home, 'p5').recipe, 'delete-virtualbox');
    assert.equal(selectDelete({ driver: 'qemu' }, home, 'p5').recipe, 'delete-qemu');
  });
});

describe('VM pieces', () => {
  it("minikube's subnet search: from the start in steps of 11, skipping what is taken", () => {
    assert.equal(freeSubnet('192.168.39.0', new Set()), '192.168.39');
    assert.equal(freeSubnet('192.168.39.0', new Set(['192.168.39', '192.168.50'])), '192.168.61');
    const all = new Set(Array.from({ length: 256 }, (_, i) => `192.168.${i}`));
    assert.equal(freeSubnet('192.168.39.0', all), undefined);
    assert.deepEqual([...takenPrefixes('2: eth0    inet 10.1.2.3/24 brd 10.1.2.255', '192.168.0.0/23 dev x')].sort(), ['10.1.2', '192.168.0', '192.168.1']);
  });

  it('network and domain XML pass virt-xml-validate', {
    skip: hasBinary('virt-xml-validate') && hasBinary('xmllint')
      ? false
      : 'virt-xml-validate/xmllint not installed (apt-get install libvirt-clients libxml2-utils)',
  }, (t) => {
    const dir = tempDir(t);
    const files: [string, string, string][] = [
      ['private.xml', networkXml({ name: 'mk-p', prefix: '192.168.39', nat: false }), 'network'],
      ['nat.xml', networkXml({ name: 'default', prefix: '192.168.122', nat: true, bridge: 'virbr0' }), 'network'],
      [
        'domain.xml',
        domainXml({
          name: 'p',
          type: 'kvm',
          memoryMiB: 2200,
          cpus: 2,
          disk: '/d/disk.qcow2',
          seed: '/d/seed.iso',
          consoleLog: '/d/console.log',
          network: 'mk-p',
          kvmNetwork: 'default',
          macs: domainMacs('p'),
          hidden: true,
          gpus: ['0000:01:00.0'],
        }),
        'domain',
      ],
      [
        'direct.xml',
        domainXml({
          name: 'p',
          type: 'qemu',
          memoryMiB: 768,
          cpus: 1,
          disk: '/d/disk.qcow2',
          seed: '/d/seed.iso',
          consoleLog: '/d/console.log',
          network: 'mk-p',
          kvmNetwork: 'default',
          macs: domainMacs('p'),
          hidden: false,
          gpus: [],
          kernel: '/k',
          initrd: '/i',
          cmdline: 'root=/dev/vda',
        }),
        'domain',
      ],
    ];
    for (const [name, xml, schema] of files) {
      writeFileSync(join(dir, name), xml);
      execFileSync('virt-xml-validate', [join(dir, name), schema], { stdio: 'pipe' });
    }
  });

  it('GPU eligibility: NVIDIA only, unbound or vfio-pci/pci-stub, in a clean IOMMU group', () => {
    const pci = parsePci(
      '0000:01:00.0 0x10de - 1\n0000:01:00.1 0x10de vfio-pci 1\n0000:02:00.0 0x10de vfio-pci 2\n0000:02:00.1 0x8086 e1000e 2\n0000:03:00.0 0x10de - -\n',
    );
    const r = eligibleGpus(pci.devices);
    assert.deepEqual(r.ok.map((d) => d.address), ['0000:01:00.0', '0000:01:00.1']);
    assert.deepEqual(r.skipped.map((s) => `${s.device.address}: ${s.why}`), [
      '0000:02:00.0: IOMMU group 2 also holds 0000:02:00.1 (e1000e)',
      '0000:03:00.0: in no IOMMU group',
    ]);
    assert.deepEqual(parsePci('noiommu\n'), { iommu: false, devices: [] });
  });

  it("doctor's bridge check and firewall check", () => {
    const addrs = '3: virbr0    inet 192.168.122.1/24 brd x\n7: br-old    inet 192.168.39.1/24 brd x\n';
    assert.deepEqual(bridgeVerdict('virbr0', '192.168.122.1', addrs), { verdict: 'match' });
    assert.deepEqual(bridgeVerdict('virbr1', '192.168.39.1', addrs), { verdict: 'other-interface', holder: 'br-old' });
    assert.deepEqual(bridgeVerdict('virbr2', '192.168.50.1', addrs), { verdict: 'absent' });
    assert.equal(dhcpDrop('-P INPUT ACCEPT\n-A INPUT -j LIBVIRT_INP\n-A INPUT -p udp --dport 67 -j DROP\n'), undefined);
    assert.equal(
      dhcpDrop('-P INPUT ACCEPT\n-A INPUT -p udp -m udp --dport 67 -j DROP\n-A INPUT -j LIBVIRT_INP\n'),
      '-A INPUT -p udp -m udp --dport 67 -j DROP',
    );
    assert.equal(dhcpDrop('-P INPUT DROP\n-A INPUT -i lo -j ACCEPT\n'), '-P INPUT DROP (and no rule accepts DHCP before it)');
    assert.equal(dhcpDrop('-P INPUT DROP\n-A INPUT -j LIBVIRT_INP\n'), undefined);
  });

  it("sizes the way minikube's flags take them", () => {
    assert.equal(sizeMiB('20g', '--disk-size'), 20480);
    assert.equal(sizeMiB('20000mb', '--disk-size'), 20000);
    assert.equal(sizeMiB(2048, '--memory'), 2048);
    assert.throws(() => sizeMiB('lots', '--disk-size'), /--disk-size lots is not a size/);
  });
});

// minikube's --kvm-gpu (pkg/drivers/kvm/gpu.go): every NVIDIA PCI device (vendor 0x10de) that is
// unbound or bound to vfio-pci/pci-stub, in an IOMMU group whose other members are unbound too, is
// passed through. The facts come from /sys in one probe (PCI_SCRIPT).
export const PCI_SCRIPT = `[ -d /sys/kernel/iommu_groups ] && [ -n "$(ls /sys/kernel/iommu_groups 2>/dev/null)" ] || { echo noiommu; exit 0; }
for d in /sys/bus/pci/devices/*; do
  [ -e "$d/vendor" ] || continue
  drv=; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
  grp=; [ -e "$d/iommu_group" ] && grp=$(basename "$(readlink "$d/iommu_group")")
  echo "$(basename "$d") $(cat "$d/vendor") \${drv:--} \${grp:--}"
done`;

export interface PciDevice {
  address: string;
  vendor: string;
  driver: string;
  group: string;
}

export function parsePci(out: string): { iommu: boolean; devices: PciDevice[] } {
  if (out.trim() === 'noiommu') return { iommu: false, devices: [] };
  const devices = out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 4)
    .map(([address, vendor, driver, group]) => ({ address: address!, vendor: vendor!, driver: driver!, group: group! }));
  return { iommu: true, devices };
}

const PASSABLE = new Set(['-', 'vfio-pci', 'pci-stub']);

export function eligibleGpus(devices: readonly PciDevice[]): { ok: PciDevice[]; skipped: { device: PciDevice; why: string }[] } {
  const ok: PciDevice[] = [];
  const skipped: { device: PciDevice; why: string }[] = [];
  for (const d of devices.filter((x) => x.vendor === '0x10de')) {
    if (!PASSABLE.has(d.driver)) {
      skipped.push({ device: d, why: `bound to ${d.driver}` });
      continue;
    }
    if (d.group === '-') {
      skipped.push({ device: d, why: 'in no IOMMU group' });
      continue;
    }
    const busy = devices.filter((x) => x.group === d.group && x.address !== d.address && !PASSABLE.has(x.driver));
    if (busy.length) {
      skipped.push({ device: d, why: `IOMMU group ${d.group} also holds ${busy.map((b) => `${b.address} (${b.driver})`).join(', ')}` });
      continue;
    }
    ok.push(d);
  }
  return { ok, skipped };
}

/** `0000:01:00.0` → the <address> of a hostdev. */
export function hostdevXml(address: string): string {
  const m = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(address);
  if (!m) throw new Error(`not a PCI address: ${address}`);
  return `    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n        <address domain='0x${m[1]}' bus='0x${m[2]}' slot='0x${
    m[3]
  }' function='0x${m[4]}'/>\n      </source>\n    </hostdev>`;
}

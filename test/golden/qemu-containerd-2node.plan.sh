#!/usr/bin/env bash
# Values are single-quoted on purpose (nothing in them may expand); files put from the download
# cache are read as you, then written as root.
# shellcheck disable=SC1003,SC2016,SC2024,SC2034
# kubestrap plan: recipe driver-qemu, profile kubestrap
# sha256:<digest>
# The commands a run performs, in order. `kubestrap apply` also checks nothing drifted first.
set -euo pipefail

# Writes stdin to $1 atomically (mode $2, owner $3) once its size ($5) and sha256 ($6) check out; backs up what it replaces to $4.
WRITE_FILE='set -eu
tmp=
trap '\''rm -f -- "$tmp"'\'' EXIT
trap '\''exit 129'\'' HUP; trap '\''exit 130'\'' INT; trap '\''exit 143'\'' TERM; trap '\''exit 141'\'' PIPE
dir=$(dirname -- "$1")
mkdir -p -- "$dir"
if [ -n "$4" ] && [ -f "$1" ]; then
  b="$4"; if [ -e "$b" ] && ! cmp -s -- "$1" "$b"; then b="$4.$(sha256sum < "$1" | cut -c1-12)"; fi
  if [ ! -e "$b" ]; then mkdir -p -- "$(dirname -- "$b")"; cp -p -- "$1" "$b.tmp"; mv -f -- "$b.tmp" "$b"; fi
fi
tmp=$(mktemp "$dir/.kubestrap.XXXXXX")
cat > "$tmp"
size=$(wc -c < "$tmp" | tr -d " ")
if [ -n "$5" ] && [ "$size" != "$5" ]; then echo "write-file: $1: got $size of $5 bytes: nothing written" >&2; exit 1; fi
sum=$(sha256sum < "$tmp" | cut -d" " -f1)
if [ "$sum" != "$6" ]; then echo "write-file: $1: content does not match sha256 $6: nothing written" >&2; exit 1; fi
chmod -- "$2" "$tmp"
if [ -n "$3" ]; then chown -- "$3" "$tmp"; fi
mv -f -- "$tmp" "$1" 2>/dev/null || { mountpoint -q -- "$1" && cat -- "$tmp" > "$1" && rm -f -- "$tmp"; }
tmp='
# Quotes one word for a remote POSIX shell (remote writes send WRITE_FILE this way).
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
# Stops where the script cannot do what a run does (a secret, or an earlier command's output).
withheld() { echo "kubestrap: $1; use kubestrap apply" >&2; exit 1; }

# ── check-virt (check-virt): already done, nothing to do
# warn: the CPU shows no vmx/svm flag — enable VT-x/AMD-V in the firmware settings, or use --driver docker, podman or none
# info: KVM is unavailable: /dev/kvm does not exist — KVM needs hardware virtualization; use --driver qemu (TCG), or use --driver docker, podman or none
# info: qemu-system-x86_64 is not installed: the qemu and kvm2 drivers are not available — sudo apt-get install qemu-system-x86
# info: virsh is not installed: the kvm2 driver is not available — sudo apt-get install libvirt-daemon-system libvirt-clients
# info: docker is not installed: the docker driver is not available — sudo apt-get install docker.io
# info: podman is not installed: the podman driver is not available — sudo apt-get install podman
# checked: timeout 5 sh -c 'for b; do command -v "$b" >/dev/null 2>&1 && echo "$b"; done; true' sh qemu-system-x86_64 virsh docker podman

# ── vm (provision-qemu-vm): change
# warn: the VM runs under TCG emulation because KVM is missing here: many times slower than KVM, expect minutes to boot and to install
# checked: ss -Hltn
# opens 127.0.0.1:42022/tcp (qemu forward to kubestrap:22 (SSH))
# opens 127.0.0.1:42023/tcp (qemu forward to kubestrap:8443 (API server))
# checked: sh -c '[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null' sh $KUBESTRAP_HOME/profiles/kubestrap/machine/qemu.pid
# cached: https://cloud-images.ubuntu.com/releases/24.04/release/SHA256SUMS → $KUBESTRAP_HOME/cache/downloads/48a6bb935c9dc78e/SHA256SUMS
mkdir -p $KUBESTRAP_HOME/cache/downloads/3b6b67faf5fd451e
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/3b6b67faf5fd451e/ubuntu-24.04-server-cloudimg-amd64.img https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img
echo 'a6ecf36c408e6c3048f47fac0bf6f7ca508c06ea53d7d6f12c680a3a88d06991  $KUBESTRAP_HOME/cache/downloads/3b6b67faf5fd451e/ubuntu-24.04-server-cloudimg-amd64.img' | sha256sum -c --quiet -
mkdir -p $KUBESTRAP_HOME/profiles/kubestrap/machine
ssh-keygen -q -t ed25519 -N '' -C kubestrap-kubestrap -f $KUBESTRAP_HOME/profiles/kubestrap/machine/id_ed25519
# create $KUBESTRAP_HOME/profiles/kubestrap/machine/seed/user-data (mode 0644, 278 B)
withheld 'the content of $KUBESTRAP_HOME/profiles/kubestrap/machine/seed/user-data uses the output of an earlier command'
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/profiles/kubestrap/machine/seed/meta-data 0644 '' '' 66 7b48d95b2468a6382f0c0964eb9c2a9aba954849baa278f3ecc93f2e53c86d3b <<'KUBESTRAP_EOF'
instance-id: "kubestrap-5254008b14ec"
local-hostname: "kubestrap"
KUBESTRAP_EOF
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/profiles/kubestrap/machine/seed/network-config 0644 '' '' 222 4dbc924cb28704697c38d76bb85661d4a62f32cbdb0164b84ef4147fcbbf486b <<'KUBESTRAP_EOF'
version: 2
ethernets:
  eth0:
    match: { macaddress: "52:54:00:8b:14:ec" }
    set-name: eth0
    dhcp4: true
  eth1:
    match: { macaddress: "52:54:00:ac:ca:18" }
    set-name: eth1
    addresses: ["192.168.105.2/24"]
KUBESTRAP_EOF
genisoimage -quiet -output $KUBESTRAP_HOME/profiles/kubestrap/machine/seed.iso -volid cidata -joliet -rock $KUBESTRAP_HOME/profiles/kubestrap/machine/seed/user-data $KUBESTRAP_HOME/profiles/kubestrap/machine/seed/meta-data $KUBESTRAP_HOME/profiles/kubestrap/machine/seed/network-config
qemu-img create -q -f qcow2 -F qcow2 -b $KUBESTRAP_HOME/cache/downloads/3b6b67faf5fd451e/ubuntu-24.04-server-cloudimg-amd64.img $KUBESTRAP_HOME/profiles/kubestrap/machine/disk.qcow2 20000M
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/profiles/kubestrap/machine/qemu.json 0644 '' '' 124 <sha256 of a file that names the temp home> <<'KUBESTRAP_EOF'
{
  "sshPort": 42022,
  "apiPort": 42023,
  "pidFile": "$KUBESTRAP_HOME/profiles/kubestrap/machine/qemu.pid"
}
KUBESTRAP_EOF
qemu-system-x86_64 -name kubestrap -accel tcg -m 2200 -smp 2 -nodefaults -display none -daemonize -pidfile $KUBESTRAP_HOME/profiles/kubestrap/machine/qemu.pid -serial file:$KUBESTRAP_HOME/profiles/kubestrap/machine/console.log -drive file=$KUBESTRAP_HOME/profiles/kubestrap/machine/disk.qcow2,if=virtio,format=qcow2 -drive file=$KUBESTRAP_HOME/profiles/kubestrap/machine/seed.iso,if=virtio,format=raw,readonly=on -netdev user,id=net0,hostfwd=tcp:127.0.0.1:42022-:22,hostfwd=tcp:127.0.0.1:42023-:8443 -device virtio-net-pci,netdev=net0,mac=52:54:00:8b:14:ec -netdev socket,id=net1,mcast=239.255.190.99:64510,localaddr=127.0.0.1 -device virtio-net-pci,netdev=net1,mac=52:54:00:ac:ca:18 -device virtio-rng-pci
sh -c 'end=$(( $(date +%s) + $4 ))
until ssh -i "$1" -p "$5" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR "$2@$3" '\''command -v cloud-init >/dev/null 2>&1 || exit 0; cloud-init status --wait >/dev/null 2>&1; test -e /var/lib/cloud/instance/boot-finished'\'' </dev/null; do
  if [ "$(date +%s)" -ge "$end" ]; then exit 3; fi
  sleep 2
done' wait-ssh $KUBESTRAP_HOME/profiles/kubestrap/machine/id_ed25519 docker 127.0.0.1 300 42022

# ── node.preflight (preflight on ssh:docker@127.0.0.1:42022): already done, nothing to do
# info: ssh:docker@127.0.0.1:42022 does not exist yet (step vm creates it): sudo, systemd, ports, swap, CPU and memory are checked on it in the run
# opens 0.0.0.0:8443/tcp (kube-apiserver)
# opens 0.0.0.0:10250/tcp (kubelet)
# opens 127.0.0.1:10248/tcp (kubelet (healthz))
# opens 127.0.0.1:10259/tcp (kube-scheduler)
# opens 127.0.0.1:10257/tcp (kube-controller-manager)
# opens 127.0.0.1:2379/tcp (etcd (clients))
# opens 192.168.105.2:2379/tcp (etcd (clients))
# opens 192.168.105.2:2380/tcp (etcd (peers))
# opens 127.0.0.1:2381/tcp (etcd (metrics))
# opens 127.0.0.1:10249/tcp (kube-proxy (metrics))
# opens 0.0.0.0:10256/tcp (kube-proxy (healthz))

# ── node.claim (claim-node on ssh:docker@127.0.0.1:42022): change
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.prepare (prepare-node on ssh:docker@127.0.0.1:42022): change
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.cni (install-cni on ssh:docker@127.0.0.1:42022): change
# info: the flannel manifest is applied after kubeadm init; its project publishes no checksum for it — pass --cni with the path of a manifest you reviewed to pin it
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.runtime (install-runtime on ssh:docker@127.0.0.1:42022): change
# warn: the distribution offers no containerd kubestrap can check: kubestrap installs containerd 2.3.4 and runc 1.4.4 from their releases into /usr/local/bin and /usr/local/sbin instead
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.kubernetes (install-kubernetes on ssh:docker@127.0.0.1:42022): change
# info: kubectl for this cluster: /var/lib/kubestrap/binaries/v1.37.1/kubectl (kubestrap does not put it on PATH)
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.kubelet (configure-kubelet on ssh:docker@127.0.0.1:42022): change
# warn: /etc/resolv.conf does not exist: pods will have no DNS upstream — configure a resolver on this machine first
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.control-plane-name (control-plane-name on ssh:docker@127.0.0.1:42022): change
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.kubeadm-config (kubeadm-config on ssh:docker@127.0.0.1:42022): change
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.init (kubeadm-init on ssh:docker@127.0.0.1:42022): change
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.pod-network (apply-cni on ssh:docker@127.0.0.1:42022): change
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.kubeconfig (user-kubeconfig on ssh:docker@127.0.0.1:42022): change
# info: the kubeconfig is /home/docker/.kube/config on ssh:docker@127.0.0.1:42022: copy it here (e.g. with scp) to use kubectl from this machine
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── node.wait (wait-apiserver on ssh:docker@127.0.0.1:42022): change
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── m02-vm (provision-qemu-vm): change
# warn: the VM runs under TCG emulation because KVM is missing here: many times slower than KVM, expect minutes to boot and to install
# checked: ss -Hltn
# opens 127.0.0.1:42024/tcp (qemu forward to kubestrap-m02:22 (SSH))
# checked: sh -c '[ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null' sh $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/qemu.pid
# cached: https://cloud-images.ubuntu.com/releases/24.04/release/SHA256SUMS → $KUBESTRAP_HOME/cache/downloads/48a6bb935c9dc78e/SHA256SUMS
mkdir -p $KUBESTRAP_HOME/cache/downloads/3b6b67faf5fd451e
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/3b6b67faf5fd451e/ubuntu-24.04-server-cloudimg-amd64.img https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img
echo 'a6ecf36c408e6c3048f47fac0bf6f7ca508c06ea53d7d6f12c680a3a88d06991  $KUBESTRAP_HOME/cache/downloads/3b6b67faf5fd451e/ubuntu-24.04-server-cloudimg-amd64.img' | sha256sum -c --quiet -
mkdir -p $KUBESTRAP_HOME/profiles/kubestrap/machine-m02
ssh-keygen -q -t ed25519 -N '' -C kubestrap-kubestrap -f $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/id_ed25519
# create $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed/user-data (mode 0644, 282 B)
withheld 'the content of $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed/user-data uses the output of an earlier command'
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed/meta-data 0644 '' '' 74 6de2cc913a97fc72696967d5c3b9b895a41c8757e1686ad45920332af0c12983 <<'KUBESTRAP_EOF'
instance-id: "kubestrap-m02-5254004fa773"
local-hostname: "kubestrap-m02"
KUBESTRAP_EOF
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed/network-config 0644 '' '' 222 e45c9244d8230f7919a4913a1071b9c233f16706be0d6fe717eb384df0478455 <<'KUBESTRAP_EOF'
version: 2
ethernets:
  eth0:
    match: { macaddress: "52:54:00:4f:a7:73" }
    set-name: eth0
    dhcp4: true
  eth1:
    match: { macaddress: "52:54:00:34:27:16" }
    set-name: eth1
    addresses: ["192.168.105.3/24"]
KUBESTRAP_EOF
genisoimage -quiet -output $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed.iso -volid cidata -joliet -rock $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed/user-data $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed/meta-data $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed/network-config
qemu-img create -q -f qcow2 -F qcow2 -b $KUBESTRAP_HOME/cache/downloads/3b6b67faf5fd451e/ubuntu-24.04-server-cloudimg-amd64.img $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/disk.qcow2 20000M
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/qemu.json 0644 '' '' 124 <sha256 of a file that names the temp home> <<'KUBESTRAP_EOF'
{
  "sshPort": 42024,
  "apiPort": 0,
  "pidFile": "$KUBESTRAP_HOME/profiles/kubestrap/machine-m02/qemu.pid"
}
KUBESTRAP_EOF
qemu-system-x86_64 -name kubestrap-m02 -accel tcg -m 2200 -smp 2 -nodefaults -display none -daemonize -pidfile $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/qemu.pid -serial file:$KUBESTRAP_HOME/profiles/kubestrap/machine-m02/console.log -drive file=$KUBESTRAP_HOME/profiles/kubestrap/machine-m02/disk.qcow2,if=virtio,format=qcow2 -drive file=$KUBESTRAP_HOME/profiles/kubestrap/machine-m02/seed.iso,if=virtio,format=raw,readonly=on -netdev user,id=net0,hostfwd=tcp:127.0.0.1:42024-:22 -device virtio-net-pci,netdev=net0,mac=52:54:00:4f:a7:73 -netdev socket,id=net1,mcast=239.255.190.99:64510,localaddr=127.0.0.1 -device virtio-net-pci,netdev=net1,mac=52:54:00:34:27:16 -device virtio-rng-pci
sh -c 'end=$(( $(date +%s) + $4 ))
until ssh -i "$1" -p "$5" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR "$2@$3" '\''command -v cloud-init >/dev/null 2>&1 || exit 0; cloud-init status --wait >/dev/null 2>&1; test -e /var/lib/cloud/instance/boot-finished'\'' </dev/null; do
  if [ "$(date +%s)" -ge "$end" ]; then exit 3; fi
  sleep 2
done' wait-ssh $KUBESTRAP_HOME/profiles/kubestrap/machine-m02/id_ed25519 docker 127.0.0.1 300 42024

# ── m02.preflight (preflight on ssh:docker@127.0.0.1:42024): already done, nothing to do
# info: ssh:docker@127.0.0.1:42024 does not exist yet (step m02-vm creates it): sudo, systemd, ports, swap, CPU and memory are checked on it in the run
# opens 0.0.0.0:10250/tcp (kubelet)
# opens 127.0.0.1:10248/tcp (kubelet (healthz))
# opens 127.0.0.1:10249/tcp (kube-proxy (metrics))
# opens 0.0.0.0:10256/tcp (kube-proxy (healthz))

# ── m02.claim (claim-node on ssh:docker@127.0.0.1:42024): change
withheld 'ssh:docker@127.0.0.1:42024 is created by step m02-vm: its steps run through kubestrap apply'

# ── m02.prepare (prepare-node on ssh:docker@127.0.0.1:42024): change
withheld 'ssh:docker@127.0.0.1:42024 is created by step m02-vm: its steps run through kubestrap apply'

# ── m02.cni (install-cni on ssh:docker@127.0.0.1:42024): change
withheld 'ssh:docker@127.0.0.1:42024 is created by step m02-vm: its steps run through kubestrap apply'

# ── m02.runtime (install-runtime on ssh:docker@127.0.0.1:42024): change
# warn: the distribution offers no containerd kubestrap can check: kubestrap installs containerd 2.3.4 and runc 1.4.4 from their releases into /usr/local/bin and /usr/local/sbin instead
withheld 'ssh:docker@127.0.0.1:42024 is created by step m02-vm: its steps run through kubestrap apply'

# ── m02.kubernetes (install-kubernetes on ssh:docker@127.0.0.1:42024): change
# info: kubectl for this cluster: /var/lib/kubestrap/binaries/v1.37.1/kubectl (kubestrap does not put it on PATH)
withheld 'ssh:docker@127.0.0.1:42024 is created by step m02-vm: its steps run through kubestrap apply'

# ── m02.kubelet (configure-kubelet on ssh:docker@127.0.0.1:42024): change
# warn: /etc/resolv.conf does not exist: pods will have no DNS upstream — configure a resolver on this machine first
withheld 'ssh:docker@127.0.0.1:42024 is created by step m02-vm: its steps run through kubestrap apply'

# ── m02-control-plane-name (control-plane-name on ssh:docker@127.0.0.1:42024): change
withheld 'ssh:docker@127.0.0.1:42024 is created by step m02-vm: its steps run through kubestrap apply'

# ── join-command (kubeadm-join-command on ssh:docker@127.0.0.1:42022): change
withheld 'ssh:docker@127.0.0.1:42022 is created by step vm: its steps run through kubestrap apply'

# ── m02-join (kubeadm-join-node on ssh:docker@127.0.0.1:42024): change
withheld 'ssh:docker@127.0.0.1:42024 is created by step m02-vm: its steps run through kubestrap apply'

#!/usr/bin/env bash
# Values are single-quoted on purpose (nothing in them may expand); files put from the download
# cache are read as you, then written as root.
# shellcheck disable=SC1003,SC2016,SC2024,SC2034
# kubestrap plan: recipe driver-ssh, profile kubestrap
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

# ── node.preflight (preflight on ssh:root@192.168.1.20:22): already done, nothing to do
# warn: kube-apiserver :8443, kubelet :10250, etcd (clients) :2379, etcd (peers) :2380, kube-proxy (healthz) :10256 will accept connections on 192.168.1.20: reachable from other machines on those networks — block these ports in the firewall unless other machines should reach the cluster
# warn: swap is on (/dev/sda3): the kubelet is configured to tolerate it (failSwapOn: false), and pods may be swapped out — sudo swapoff -a turns it off (and remove it from /etc/fstab to keep it off)
# info: not installed yet: conntrack, socat, crictl (kubestrap installs them in the next steps)
# checked: k=@@kubestrap-fact@@\ne() { printf '\n%s . %s\n' "$k" "$1"; }\n{\necho "$k 10"; { v=$( (set -- containerd runc dockerd --\np=$(for b in "$@"; do [ "$b" = -- ] && break; command -v "$b"; done)\n# shellcheck disable=SC2086 # the paths are split as command -v printed them, one a line\nstat -L -c '%n %d %i %s %.9Y %.9Z' -- $p /var/lib/dpkg/status /var/lib/rpm 2>/dev/null\n)\n); [ -z "$v" ] || printf '%s\n' "$v"\nif [ -n "$v" ] && [ "$v" = "${kept_10-}" ]; then echo "@@kubestrap-memo@@ kept"; else echo "@@kubestrap-memo@@ asked"\n(set -- containerd runc dockerd -- containerd runc docker.io containerd.io docker-ce\nn=0; for a in "$@"; do n=$((n + 1)); [ "$a" = -- ] && break; done\nm=$#\nfor b in "$@"; do\n  [ "$b" = -- ] && break\n  p=$(command -v "$b" 2>/dev/null) || continue\n  ( v=$("$p" --version 2>/dev/null </dev/null | { IFS= read -r l; printf %s "$l"; }); printf "binary\t%s\t%s\t%s\n" "$b" "$p" "$v" ) &\n  set -- "$@" "$p"\ndone\nu=$(i=0; for a in "$@"; do i=$((i + 1)); [ $i -gt $n ] && [ $i -le $m ] && printf "%s\n" "$a"; done)\nshift "$m"\nif [ $# -gt 0 ] && command -v dpkg-query >/dev/null 2>&1; then\n  t=$(printf "\t")\n  l=$(for q in $u; do for f in /var/lib/dpkg/info/"$q".list /var/lib/dpkg/info/"$q":*.list; do [ -f "$f" ] && printf "%s\n" "$f"; done; done)\n  # shellcheck disable=SC2086 # the lists are dpkg file names: no spaces, no wildcards\n  o=$([ -z "$l" ] || grep -Fx -e "$(printf "%s\n" "$@")" -- $l /dev/null | while IFS= read -r r; do f=${r%%:/*}; f=${f##*/}; f=${f%.list}; printf "owner\t/%s\t%s\n" "${r#*:/}" "${f%%:*}"; done)\n  [ -z "$o" ] || printf "%s\n" "$o"\n  for p in "$@"; do case "$o" in *"owner$t$p$t"*) ;; *) set -- "$@" "$p" ;; esac; shift; done\n  [ $# -eq 0 ] || dpkg-query -S -- "$@" 2>/dev/null | while IFS= read -r l; do case $l in diversion*) ;; *": /"*) printf "owner\t%s\t%s\n" "${l#*: }" "${l%%: /*}" ;; esac; done\nelif [ $# -gt 0 ] && command -v rpm >/dev/null 2>&1; then\n  for p in "$@"; do o=$(rpm -qf --qf "%{NAME}" -- "$p" 2>/dev/null) && printf "owner\t%s\t%s\n" "$p" "$o"; done\nfi\nwait\nexit 0\n)\nfi\n} </dev/null 2>/dev/null; e $?\n} | {\necho "$k 0"; { (set -- systemctl\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 3"; { ip -4 -o route show default\n} </dev/null 2>/dev/null; e $?\necho "$k 6"; { nproc\n} </dev/null 2>/dev/null; e $?\necho "$k 9"; { (set -- crictl\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 13"; { (set -- /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 16"; { test -r /etc/cni/net.d -a -x /etc/cni/net.d\n} </dev/null 2>/dev/null; e $?\necho "$k 19"; { (set -- /etc/systemd/system/cri-docker.socket\n[ -e "$1" ] || exit 0; stat -c %a -- "$1"\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 22"; { (set -- \nwhile read -r k v; do [ "$k" = CapBnd: ] && echo "$k $v"; done < /proc/self/status; exit 0\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 25"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/kubelet\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 28"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-amd64.tar.gz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k enabled"; { (set -- docker.socket docker cri-docker.socket cri-docker crio kubelet\nset -f; found=\nfor u in "$@"; do\n  case $u in *.*) n=$u ;; *) n=$u.service ;; esac\n  case $n in *@?*.*) t=${n%%@*}@.${n##*.} ;; *) t=$n ;; esac\n  f=${SYSTEMD_UNIT_PATH:+y}\n  for d in /etc/systemd/system.control /run/systemd/system.control /run/systemd/transient /run/systemd/generator.early \\n    /etc/systemd/system /etc/systemd/system.attached /run/systemd/system /run/systemd/system.attached /run/systemd/generator \\n    /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system /run/systemd/generator.late; do\n    [ -n "$f" ] && break\n    if [ -e "$d/$n" ] || [ -L "$d/$n" ] || [ -e "$d/$t" ]; then f=y; fi\n  done\n  if [ -n "$f" ]; then found="$found $u"; else echo "$u not-found"; fi\ndone\n# shellcheck disable=SC2086 # unit names have no spaces, and globbing is off\nset -- $found\nwhile [ $# -gt 0 ]; do\n  for s in $(systemctl is-enabled -- "$@" 2>/dev/null); do [ $# -gt 0 ] || break; echo "$1 $s"; shift; done\n  [ $# -gt 0 ] || break\n  echo "$1 failed"; shift\ndone\n)\n} </dev/null 2>/dev/null; e $?\necho "$k f0"; { (if [ ! -e /run/systemd/system ]; then exit 3; elif [ ! -r /run/systemd/system ] || [ -d /run/systemd/system ]; then exit 4; fi; base64 < /run/systemd/system)\n} </dev/null 2>/dev/null; e $?\necho "$k f3"; { (if [ ! -e /proc/swaps ]; then exit 3; elif [ ! -r /proc/swaps ] || [ -d /proc/swaps ]; then exit 4; fi; base64 < /proc/swaps)\n} </dev/null 2>/dev/null; e $?\necho "$k f6"; { (if [ ! -e /var/lib/kubestrap/cluster.json ]; then exit 3; elif [ ! -r /var/lib/kubestrap/cluster.json ] || [ -d /var/lib/kubestrap/cluster.json ]; then exit 4; fi; base64 < /var/lib/kubestrap/cluster.json)\n} </dev/null 2>/dev/null; e $?\necho "$k f9"; { (if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then exit 3; elif [ ! -r /proc/sys/net/bridge/bridge-nf-call-iptables ] || [ -d /proc/sys/net/bridge/bridge-nf-call-iptables ]; then exit 4; fi; base64 < /proc/sys/net/bridge/bridge-nf-call-iptables)\n} </dev/null 2>/dev/null; e $?\necho "$k f12"; { (if [ ! -e /etc/modules-load.d/kubestrap.conf ]; then exit 3; elif [ ! -r /etc/modules-load.d/kubestrap.conf ] || [ -d /etc/modules-load.d/kubestrap.conf ]; then exit 4; fi; base64 < /etc/modules-load.d/kubestrap.conf)\n} </dev/null 2>/dev/null; e $?\necho "$k f15"; { (if [ ! -e /etc/cni/net.d ]; then exit 3; elif [ ! -r /etc/cni/net.d ] || [ -d /etc/cni/net.d ]; then exit 4; fi; base64 < /etc/cni/net.d)\n} </dev/null 2>/dev/null; e $?\necho "$k f18"; { (if [ ! -e /etc/docker/daemon.json ]; then exit 3; elif [ ! -r /etc/docker/daemon.json ] || [ -d /etc/docker/daemon.json ]; then exit 4; fi; base64 < /etc/docker/daemon.json)\n} </dev/null 2>/dev/null; e $?\necho "$k f21"; { (if [ ! -e /etc/crictl.yaml ]; then exit 3; elif [ ! -r /etc/crictl.yaml ] || [ -d /etc/crictl.yaml ]; then exit 4; fi; base64 < /etc/crictl.yaml)\n} </dev/null 2>/dev/null; e $?\necho "$k f24"; { (if [ ! -e /etc/systemd/system/kubelet.service ]; then exit 3; elif [ ! -r /etc/systemd/system/kubelet.service ] || [ -d /etc/systemd/system/kubelet.service ]; then exit 4; fi; base64 < /etc/systemd/system/kubelet.service)\n} </dev/null 2>/dev/null; e $?\necho "$k f27"; { (if [ ! -e /var/lib/kubestrap/kubeadm.yaml ]; then exit 3; elif [ ! -r /var/lib/kubestrap/kubeadm.yaml ] || [ -d /var/lib/kubestrap/kubeadm.yaml ]; then exit 4; fi; base64 < /var/lib/kubestrap/kubeadm.yaml)\n} </dev/null 2>/dev/null; e $?\nwhile IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done\n} | {\necho "$k 1"; { uname -m\n} </dev/null 2>/dev/null; e $?\necho "$k 4"; { ip -4 -o addr show scope global\n} </dev/null 2>/dev/null; e $?\necho "$k 7"; { (set -- conntrack\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 11"; { (set -- iptables\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 14"; { (set -- /var/lib/kubestrap/cni/cni-plugins-linux-arm64-v1.9.1.tgz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 17"; { (set -- /etc/cni/net.d\nfor f in "$1"/*; do [ -e "$f" ] && printf "%s\n" "${f##*/}"; done; exit 0\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 20"; { (set -- /etc/systemd/system/cri-docker.service\n[ -e "$1" ] || exit 0; stat -c %a -- "$1"\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 23"; { (set -- /var/cache/kubestrap/cri-dockerd-0.3.24.amd64.tgz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 26"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/kubeadm\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 29"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-arm64.tar.gz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k packages"; { v=$( for m in apt-get dnf yum zypper pacman apk; do command -v "$m"; done\nstat -L -c '%n %d %i %s %.9Y %.9Z' -- /var/lib/dpkg/status /var/lib/dpkg/updates /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages \\n  /var/lib/pacman/local /lib/apk/db/installed 2>/dev/null\n); [ -z "$v" ] || printf '%s\n' "$v"\nif [ -n "$v" ] && [ "$v" = "${kept_packages-}" ]; then echo "@@kubestrap-memo@@ kept"; else echo "@@kubestrap-memo@@ asked"\n(set -- conntrack socat iptables ethtool iproute2 docker.io\nfor m in apt-get dnf yum zypper pacman apk; do command -v "$m" >/dev/null 2>&1 && break; m=; done\n[ -n "$m" ] || exit 3\necho "manager $m"\n[ $# -gt 0 ] || exit 0\ncase $m in\n  apt-get) dpkg-query -W -f '${db:Status-Status} ${Package} ${Version}\n' -- "$@" 2>/dev/null | while read -r s p v; do [ "$s" = installed ] && echo "package $p $v"; done ;;\n  dnf|yum|zypper) rpm -q --qf 'package %{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\n' -- "$@" 2>/dev/null | grep "^package " ;;\n  pacman) pacman -Q -- "$@" 2>/dev/null | sed "s/^/package /" ;;\n  apk) for p in "$@"; do apk info -e -- "$p" >/dev/null 2>&1 && echo "package $p"; done ;;\nesac\nexit 0\n)\nfi\n} </dev/null 2>/dev/null; e $?\necho "$k f1"; { (if [ ! -e /etc/kubernetes/admin.conf ]; then exit 3; elif [ ! -r /etc/kubernetes/admin.conf ] || [ -d /etc/kubernetes/admin.conf ]; then exit 4; fi; base64 < /etc/kubernetes/admin.conf)\n} </dev/null 2>/dev/null; e $?\necho "$k f4"; { (if [ ! -e /proc/meminfo ]; then exit 3; elif [ ! -r /proc/meminfo ] || [ -d /proc/meminfo ]; then exit 4; fi; base64 < /proc/meminfo)\n} </dev/null 2>/dev/null; e $?\necho "$k f7"; { (if [ ! -e /proc/filesystems ]; then exit 3; elif [ ! -r /proc/filesystems ] || [ -d /proc/filesystems ]; then exit 4; fi; base64 < /proc/filesystems)\n} </dev/null 2>/dev/null; e $?\necho "$k f10"; { (if [ ! -e /proc/sys/net/bridge/bridge-nf-call-ip6tables ]; then exit 3; elif [ ! -r /proc/sys/net/bridge/bridge-nf-call-ip6tables ] || [ -d /proc/sys/net/bridge/bridge-nf-call-ip6tables ]; then exit 4; fi; base64 < /proc/sys/net/bridge/bridge-nf-call-ip6tables)\n} </dev/null 2>/dev/null; e $?\necho "$k f13"; { (if [ ! -e /etc/sysctl.d/99-kubestrap.conf ]; then exit 3; elif [ ! -r /etc/sysctl.d/99-kubestrap.conf ] || [ -d /etc/sysctl.d/99-kubestrap.conf ]; then exit 4; fi; base64 < /etc/sysctl.d/99-kubestrap.conf)\n} </dev/null 2>/dev/null; e $?\necho "$k f16"; { (if [ ! -e /var/lib/kubestrap/cni/1-kubestrap-bridge.conflist ]; then exit 3; elif [ ! -r /var/lib/kubestrap/cni/1-kubestrap-bridge.conflist ] || [ -d /var/lib/kubestrap/cni/1-kubestrap-bridge.conflist ]; then exit 4; fi; base64 < /var/lib/kubestrap/cni/1-kubestrap-bridge.conflist)\n} </dev/null 2>/dev/null; e $?\necho "$k f19"; { (if [ ! -e /etc/systemd/system/cri-docker.socket ]; then exit 3; elif [ ! -r /etc/systemd/system/cri-docker.socket ] || [ -d /etc/systemd/system/cri-docker.socket ]; then exit 4; fi; base64 < /etc/systemd/system/cri-docker.socket)\n} </dev/null 2>/dev/null; e $?\necho "$k f22"; { (if [ ! -e /etc/resolv.conf ]; then exit 3; elif [ ! -r /etc/resolv.conf ] || [ -d /etc/resolv.conf ]; then exit 4; fi; base64 < /etc/resolv.conf)\n} </dev/null 2>/dev/null; e $?\necho "$k f25"; { (if [ ! -e /etc/systemd/system/kubelet.service.d/10-kubeadm.conf ]; then exit 3; elif [ ! -r /etc/systemd/system/kubelet.service.d/10-kubeadm.conf ] || [ -d /etc/systemd/system/kubelet.service.d/10-kubeadm.conf ]; then exit 4; fi; base64 < /etc/systemd/system/kubelet.service.d/10-kubeadm.conf)\n} </dev/null 2>/dev/null; e $?\necho "$k stats"; { for p in /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz /var/lib/kubestrap/cni/cni-plugins-linux-arm64-v1.9.1.tgz /opt/cni/bin/bandwidth /opt/cni/bin/bridge /opt/cni/bin/firewall /opt/cni/bin/host-local /opt/cni/bin/loopback /opt/cni/bin/portmap /opt/cni/bin/tuning /var/lib/kubestrap/binaries/v1.37.1/kubelet /var/lib/kubestrap/binaries/v1.37.1/kubeadm /var/lib/kubestrap/binaries/v1.37.1/kubectl /var/lib/kubestrap/binaries/v1.37.1/crictl /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-amd64.tar.gz /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-arm64.tar.gz /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/manifests/kube-controller-manager.yaml /etc/kubernetes/manifests/kube-scheduler.yaml /var/lib/kubestrap/certs /var/lib/kubestrap/etcd /var/lib/kubelet/config.yaml /var/lib/kubelet/kubeadm-flags.env /var/lib/kubelet/instance-config.yaml; do { [ -e "$p" ] && stat -L -c '%F|%s|%a' -- "$p" 2>/dev/null; } || { (case $p in /*) r=/ ;; *) r=. ;; esac; d=$p; while case $d in */*) d=${d%/*} ;; *) d= ;; esac; [ -n "$d" ] && [ ! -e "$d" ]; do :; done; if [ -x "${d:-$r}" ]; then exit 3; else exit 4; fi); [ $? = 4 ] && echo hidden || echo missing; }; done\n} </dev/null 2>/dev/null; e $?\nwhile IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done\n} | {\necho "$k 2"; { (set -- ip\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 5"; { ss -Hltn\n} </dev/null 2>/dev/null; e $?\necho "$k 8"; { (set -- socat\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 12"; { (set -- ethtool\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 15"; { (set -- /var/lib/kubestrap/cni/manifest.yaml\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 18"; { (set -- /etc/docker/daemon.json\n[ -e "$1" ] || exit 0; stat -c %a -- "$1"\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 21"; { (set -- /etc/crictl.yaml\n[ -e "$1" ] || exit 0; stat -c %a -- "$1"\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 24"; { (set -- /var/cache/kubestrap/cri-dockerd-0.3.24.arm64.tgz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 27"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/kubectl\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k units"; { systemctl is-active docker.socket docker cri-docker.socket cri-docker crio\n} </dev/null 2>/dev/null; e $?\necho "$k stat"; { stat -L -c '%F|%s|%a' -- /run/systemd/system /etc/kubernetes/admin.conf /etc/kubernetes/manifests/kube-apiserver.yaml /proc/swaps /proc/meminfo /sys/fs/cgroup/cgroup.controllers /var/lib/kubestrap/cluster.json /proc/filesystems /proc/sys/net/bridge /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables /proc/sys/net/ipv4/ip_forward /etc/modules-load.d/kubestrap.conf /etc/sysctl.d/99-kubestrap.conf /opt/cni/bin /etc/cni/net.d /var/lib/kubestrap/cni/1-kubestrap-bridge.conflist /etc/cni/net.d/1-kubestrap-bridge.conflist /etc/docker/daemon.json /etc/systemd/system/cri-docker.socket /etc/systemd/system/cri-docker.service /etc/crictl.yaml /etc/resolv.conf /run/systemd/resolve/resolv.conf /etc/systemd/system/kubelet.service /etc/systemd/system/kubelet.service.d/10-kubeadm.conf /etc/hosts /var/lib/kubestrap/kubeadm.yaml\n} </dev/null 2>/dev/null; e $?\necho "$k f2"; { (if [ ! -e /etc/kubernetes/manifests/kube-apiserver.yaml ]; then exit 3; elif [ ! -r /etc/kubernetes/manifests/kube-apiserver.yaml ] || [ -d /etc/kubernetes/manifests/kube-apiserver.yaml ]; then exit 4; fi; base64 < /etc/kubernetes/manifests/kube-apiserver.yaml)\n} </dev/null 2>/dev/null; e $?\necho "$k f5"; { (if [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then exit 3; elif [ ! -r /sys/fs/cgroup/cgroup.controllers ] || [ -d /sys/fs/cgroup/cgroup.controllers ]; then exit 4; fi; base64 < /sys/fs/cgroup/cgroup.controllers)\n} </dev/null 2>/dev/null; e $?\necho "$k f8"; { (if [ ! -e /proc/sys/net/bridge ]; then exit 3; elif [ ! -r /proc/sys/net/bridge ] || [ -d /proc/sys/net/bridge ]; then exit 4; fi; base64 < /proc/sys/net/bridge)\n} </dev/null 2>/dev/null; e $?\necho "$k f11"; { (if [ ! -e /proc/sys/net/ipv4/ip_forward ]; then exit 3; elif [ ! -r /proc/sys/net/ipv4/ip_forward ] || [ -d /proc/sys/net/ipv4/ip_forward ]; then exit 4; fi; base64 < /proc/sys/net/ipv4/ip_forward)\n} </dev/null 2>/dev/null; e $?\necho "$k f14"; { (if [ ! -e /opt/cni/bin ]; then exit 3; elif [ ! -r /opt/cni/bin ] || [ -d /opt/cni/bin ]; then exit 4; fi; base64 < /opt/cni/bin)\n} </dev/null 2>/dev/null; e $?\necho "$k f17"; { (if [ ! -e /etc/cni/net.d/1-kubestrap-bridge.conflist ]; then exit 3; elif [ ! -r /etc/cni/net.d/1-kubestrap-bridge.conflist ] || [ -d /etc/cni/net.d/1-kubestrap-bridge.conflist ]; then exit 4; fi; base64 < /etc/cni/net.d/1-kubestrap-bridge.conflist)\n} </dev/null 2>/dev/null; e $?\necho "$k f20"; { (if [ ! -e /etc/systemd/system/cri-docker.service ]; then exit 3; elif [ ! -r /etc/systemd/system/cri-docker.service ] || [ -d /etc/systemd/system/cri-docker.service ]; then exit 4; fi; base64 < /etc/systemd/system/cri-docker.service)\n} </dev/null 2>/dev/null; e $?\necho "$k f23"; { (if [ ! -e /run/systemd/resolve/resolv.conf ]; then exit 3; elif [ ! -r /run/systemd/resolve/resolv.conf ] || [ -d /run/systemd/resolve/resolv.conf ]; then exit 4; fi; base64 < /run/systemd/resolve/resolv.conf)\n} </dev/null 2>/dev/null; e $?\necho "$k f26"; { (if [ ! -e /etc/hosts ]; then exit 3; elif [ ! -r /etc/hosts ] || [ -d /etc/hosts ]; then exit 4; fi; base64 < /etc/hosts)\n} </dev/null 2>/dev/null; e $?\nwhile IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done\n}
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh systemctl
# checked: uname -m
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh ip
# checked: ip -4 -o route show default
# checked: ip -4 -o addr show scope global
# checked: ss -Hltn
# opens 0.0.0.0:8443/tcp (kube-apiserver)
# opens 0.0.0.0:10250/tcp (kubelet)
# opens 127.0.0.1:10248/tcp (kubelet (healthz))
# opens 127.0.0.1:10259/tcp (kube-scheduler)
# opens 127.0.0.1:10257/tcp (kube-controller-manager)
# opens 127.0.0.1:2379/tcp (etcd (clients))
# opens 192.168.1.20:2379/tcp (etcd (clients))
# opens 192.168.1.20:2380/tcp (etcd (peers))
# opens 127.0.0.1:2381/tcp (etcd (metrics))
# opens 127.0.0.1:10249/tcp (kube-proxy (metrics))
# opens 0.0.0.0:10256/tcp (kube-proxy (healthz))
# read: /proc/swaps
# checked: nproc
# read: /proc/meminfo
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh conntrack
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh socat
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh crictl

# ── node.claim (claim-node on ssh:root@192.168.1.20:22): change
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/cluster.json 0644 '' '' 69 9be28b9427379e5cee691d0a429a6f58a5edfabff4dafbd4a23335dc586b7ebb" <<'KUBESTRAP_EOF'
{"profile":"kubestrap","driver":"ssh","kubernetesVersion":"v1.37.1"}
KUBESTRAP_EOF

# ── node.prepare (prepare-node on ssh:root@192.168.1.20:22): change
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh conntrack
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh socat
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh iptables
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh ethtool
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh ip
# read: /proc/filesystems
# read: /proc/sys/net/ipv4/ip_forward
# checked: sh -c 'for m in apt-get dnf yum zypper pacman apk; do command -v "$m" >/dev/null 2>&1 && break; m=; done\n[ -n "$m" ] || exit 3\necho "manager $m"\n[ $# -gt 0 ] || exit 0\ncase $m in\n  apt-get) dpkg-query -W -f '\''${db:Status-Status} ${Package} ${Version}\n'\'' -- "$@" 2>/dev/null | while read -r s p v; do [ "$s" = installed ] && echo "package $p $v"; done ;;\n  dnf|yum|zypper) rpm -q --qf '\''package %{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\n'\'' -- "$@" 2>/dev/null | grep "^package " ;;\n  pacman) pacman -Q -- "$@" 2>/dev/null | sed "s/^/package /" ;;\n  apk) for p in "$@"; do apk info -e -- "$p" >/dev/null 2>&1 && echo "package $p"; done ;;\nesac\nexit 0' package-state conntrack socat iptables ethtool
# checked: sh -c 'export LC_ALL=C\nd=${KUBESTRAP_HOME:-$HOME/.kubestrap}/cache/apt\nstate=$(stat -c "%n %s %i %.9Y %.9Z" /etc/apt /etc/apt/* /etc/apt/*/* /var/lib/dpkg/status /var/lib/dpkg/arch /var/lib/dpkg/updates /var/lib/apt/extended_states /var/lib/apt/lists /var/lib/apt/lists/* 2>/dev/null)\nf=\ncase $state in *"/var/lib/dpkg/status "*)\n  h=$(printf "%s\n" "$*" "${APT_CONFIG-}" "$state" | sha256sum) && f=$d/answers/${h%% *}\n  [ -r "$f" ] && exec cat -- "$f" ;;\nesac\neval "$(apt-config shell c Dir::Cache::pkgcache)"\n[ -n "$c" ] || ! mkdir -p -- "$d" 2>/dev/null || set -- -o "Dir::Cache::pkgcache=$d/pkgcache.bin" "$@"\n[ -n "$f" ] && mkdir -p -- "$d/answers" 2>/dev/null || exec apt-get "$@"\napt-get "$@" >"$f.$$"; s=$?\ncat -- "$f.$$"\nif [ $s = 0 ]; then find "$d/answers" -type f -mtime +7 -exec rm -f -- {} + 2>/dev/null; mv -f -- "$f.$$" "$f"; else rm -f -- "$f.$$"; fi\nexit $s' apt-get -s install --no-install-recommends -- conntrack socat iptables ethtool
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-remove -- conntrack socat iptables ethtool'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/modules-load.d/kubestrap.conf 0644 '' '' 103 c3b89cf2623951cffbd513c3493effa61d05eda3c98969f6ab4c3875064121b2" <<'KUBESTRAP_EOF'
# Written by kubestrap: kernel modules the container runtime and kube-proxy need.
overlay
br_netfilter
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'modprobe br_netfilter'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/sysctl.d/99-kubestrap.conf 0644 '' '' 198 b1664c04f814400682a16ed5116259fb0a5b29ae0ddcb7e7247398b3cd1364e4" <<'KUBESTRAP_EOF'
# Written by kubestrap: pods' bridged traffic goes through iptables, and the node forwards it.
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'sysctl -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 net.ipv4.ip_forward=1'

# ── node.cni (install-cni on ssh:root@192.168.1.20:22): change
# checked: uname -m
# checked: uname -m
# cached: https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz.sha256 → $KUBESTRAP_HOME/cache/downloads/bce1d16e35a20bc7/cni-plugins-linux-amd64-v1.9.1.tgz.sha256
# checked: sh -c '[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }' sh /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz
# checked: sh -c 'for f in "$1"/*; do [ -e "$f" ] && printf "%s\n" "${f##*/}"; done; exit 0' sh /etc/cni/net.d
mkdir -p $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz
echo '1d5f1dd05f10fc5f416fce34cb1fcb894a77372db756708645e9071a10259a99  $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz' | sha256sum -c --quiet -
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz 0644 '' '' '' 1d5f1dd05f10fc5f416fce34cb1fcb894a77372db756708645e9071a10259a99" < $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'mkdir -p /opt/cni/bin'
# declared: writes /opt/cni/bin/bandwidth (new)
# declared: writes /opt/cni/bin/bridge (new)
# declared: writes /opt/cni/bin/firewall (new)
# declared: writes /opt/cni/bin/host-local (new)
# declared: writes /opt/cni/bin/loopback (new)
# declared: writes /opt/cni/bin/portmap (new)
# declared: writes /opt/cni/bin/tuning (new)
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'tar -xzf /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz -C /opt/cni/bin --no-same-owner ./bandwidth ./bridge ./firewall ./host-local ./loopback ./portmap ./tuning'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/cni/net.d/1-kubestrap-bridge.conflist 0644 '' '' 579 27b1324c3bd512b87ed156c453ad38da88b186d7ba5370173fdb1433fd98d3a2" <<'KUBESTRAP_EOF'
{
  "cniVersion": "1.0.0",
  "name": "kubestrap-bridge",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "kubestrap0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [
          [
            {
              "subnet": "10.244.0.0/16"
            }
          ]
        ],
        "routes": [
          {
            "dst": "0.0.0.0/0"
          }
        ]
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/cni/1-kubestrap-bridge.conflist 0644 '' '' 579 27b1324c3bd512b87ed156c453ad38da88b186d7ba5370173fdb1433fd98d3a2" <<'KUBESTRAP_EOF'
{
  "cniVersion": "1.0.0",
  "name": "kubestrap-bridge",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "kubestrap0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [
          [
            {
              "subnet": "10.244.0.0/16"
            }
          ]
        ],
        "routes": [
          {
            "dst": "0.0.0.0/0"
          }
        ]
      }
    },
    {
      "type": "portmap",
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
KUBESTRAP_EOF

# ── node.runtime (install-runtime on ssh:root@192.168.1.20:22): change
# checked: sh -c 'while read -r k v; do [ "$k" = CapBnd: ] && echo "$k $v"; done < /proc/self/status; exit 0'
# checked: uname -m
# checked: sh -c 'n=0; for a in "$@"; do n=$((n + 1)); [ "$a" = -- ] && break; done\nm=$#\nfor b in "$@"; do\n  [ "$b" = -- ] && break\n  p=$(command -v "$b" 2>/dev/null) || continue\n  ( v=$("$p" --version 2>/dev/null </dev/null | { IFS= read -r l; printf %s "$l"; }); printf "binary\t%s\t%s\t%s\n" "$b" "$p" "$v" ) &\n  set -- "$@" "$p"\ndone\nu=$(i=0; for a in "$@"; do i=$((i + 1)); [ $i -gt $n ] && [ $i -le $m ] && printf "%s\n" "$a"; done)\nshift "$m"\nif [ $# -gt 0 ] && command -v dpkg-query >/dev/null 2>&1; then\n  t=$(printf "\t")\n  l=$(for q in $u; do for f in /var/lib/dpkg/info/"$q".list /var/lib/dpkg/info/"$q":*.list; do [ -f "$f" ] && printf "%s\n" "$f"; done; done)\n  # shellcheck disable=SC2086 # the lists are dpkg file names: no spaces, no wildcards\n  o=$([ -z "$l" ] || grep -Fx -e "$(printf "%s\n" "$@")" -- $l /dev/null | while IFS= read -r r; do f=${r%%:/*}; f=${f##*/}; f=${f%.list}; printf "owner\t/%s\t%s\n" "${r#*:/}" "${f%%:*}"; done)\n  [ -z "$o" ] || printf "%s\n" "$o"\n  for p in "$@"; do case "$o" in *"owner$t$p$t"*) ;; *) set -- "$@" "$p" ;; esac; shift; done\n  [ $# -eq 0 ] || dpkg-query -S -- "$@" 2>/dev/null | while IFS= read -r l; do case $l in diversion*) ;; *": /"*) printf "owner\t%s\t%s\n" "${l#*: }" "${l%%: /*}" ;; esac; done\nelif [ $# -gt 0 ] && command -v rpm >/dev/null 2>&1; then\n  for p in "$@"; do o=$(rpm -qf --qf "%{NAME}" -- "$p" 2>/dev/null) && printf "owner\t%s\t%s\n" "$p" "$o"; done\nfi\nwait\nexit 0' sh containerd runc dockerd -- containerd runc docker.io containerd.io docker-ce
# checked: sh -c 'for m in apt-get dnf yum zypper pacman apk; do command -v "$m" >/dev/null 2>&1 && break; m=; done\n[ -n "$m" ] || exit 3\necho "manager $m"\n[ $# -gt 0 ] || exit 0\ncase $m in\n  apt-get) dpkg-query -W -f '\''${db:Status-Status} ${Package} ${Version}\n'\'' -- "$@" 2>/dev/null | while read -r s p v; do [ "$s" = installed ] && echo "package $p $v"; done ;;\n  dnf|yum|zypper) rpm -q --qf '\''package %{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\n'\'' -- "$@" 2>/dev/null | grep "^package " ;;\n  pacman) pacman -Q -- "$@" 2>/dev/null | sed "s/^/package /" ;;\n  apk) for p in "$@"; do apk info -e -- "$p" >/dev/null 2>&1 && echo "package $p"; done ;;\nesac\nexit 0' package-state docker.io
# checked: sh -c 'while read -r k v; do [ "$k" = CapBnd: ] && echo "$k $v"; done < /proc/self/status; exit 0'
# checked: systemctl is-active --quiet crio
# checked: systemctl is-enabled --quiet crio
# checked: sh -c 'for m in apt-get dnf yum zypper pacman apk; do command -v "$m" >/dev/null 2>&1 && break; m=; done\n[ -n "$m" ] || exit 3\necho "manager $m"\n[ $# -gt 0 ] || exit 0\ncase $m in\n  apt-get) dpkg-query -W -f '\''${db:Status-Status} ${Package} ${Version}\n'\'' -- "$@" 2>/dev/null | while read -r s p v; do [ "$s" = installed ] && echo "package $p $v"; done ;;\n  dnf|yum|zypper) rpm -q --qf '\''package %{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\n'\'' -- "$@" 2>/dev/null | grep "^package " ;;\n  pacman) pacman -Q -- "$@" 2>/dev/null | sed "s/^/package /" ;;\n  apk) for p in "$@"; do apk info -e -- "$p" >/dev/null 2>&1 && echo "package $p"; done ;;\nesac\nexit 0' package-state docker.io
# checked: sh -c 'export LC_ALL=C\nd=${KUBESTRAP_HOME:-$HOME/.kubestrap}/cache/apt\nstate=$(stat -c "%n %s %i %.9Y %.9Z" /etc/apt /etc/apt/* /etc/apt/*/* /var/lib/dpkg/status /var/lib/dpkg/arch /var/lib/dpkg/updates /var/lib/apt/extended_states /var/lib/apt/lists /var/lib/apt/lists/* 2>/dev/null)\nf=\ncase $state in *"/var/lib/dpkg/status "*)\n  h=$(printf "%s\n" "$*" "${APT_CONFIG-}" "$state" | sha256sum) && f=$d/answers/${h%% *}\n  [ -r "$f" ] && exec cat -- "$f" ;;\nesac\neval "$(apt-config shell c Dir::Cache::pkgcache)"\n[ -n "$c" ] || ! mkdir -p -- "$d" 2>/dev/null || set -- -o "Dir::Cache::pkgcache=$d/pkgcache.bin" "$@"\n[ -n "$f" ] && mkdir -p -- "$d/answers" 2>/dev/null || exec apt-get "$@"\napt-get "$@" >"$f.$$"; s=$?\ncat -- "$f.$$"\nif [ $s = 0 ]; then find "$d/answers" -type f -mtime +7 -exec rm -f -- {} + 2>/dev/null; mv -f -- "$f.$$" "$f"; else rm -f -- "$f.$$"; fi\nexit $s' apt-get -s install --no-install-recommends -- docker.io
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-remove -- docker.io'
# checked: sh -c '[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }' sh /var/cache/kubestrap/cri-dockerd-0.3.24.amd64.tgz
mkdir -p $KUBESTRAP_HOME/cache/downloads/aab1700e10d57974
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/aab1700e10d57974/cri-dockerd-0.3.24.amd64.tgz https://github.com/Mirantis/cri-dockerd/releases/download/v0.3.24/cri-dockerd-0.3.24.amd64.tgz
echo 'dd4b7f514c248a3aaca398f467430a4c58aae9a77ea8b96a2f5b5d6fba0948d1  $KUBESTRAP_HOME/cache/downloads/aab1700e10d57974/cri-dockerd-0.3.24.amd64.tgz' | sha256sum -c --quiet -
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/cache/kubestrap/cri-dockerd-0.3.24.amd64.tgz 0644 '' '' '' dd4b7f514c248a3aaca398f467430a4c58aae9a77ea8b96a2f5b5d6fba0948d1" < $KUBESTRAP_HOME/cache/downloads/aab1700e10d57974/cri-dockerd-0.3.24.amd64.tgz
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'tar -xzf /var/cache/kubestrap/cri-dockerd-0.3.24.amd64.tgz -C /usr/local/bin --strip-components=1 --no-same-owner cri-dockerd/cri-dockerd'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'chmod 0755 /usr/local/bin/cri-dockerd'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/docker/daemon.json 0644 '' '' 132 54cc5cd031d47140e8a7ef84acb905f89f3f889e2a8b4ed615cedcc73d1b5013" <<'KUBESTRAP_EOF'
{
  "exec-opts": [
    "native.cgroupdriver=systemd"
  ],
  "log-driver": "json-file",
  "log-opts": {
    "max-size": "100m"
  }
}
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/systemd/system/cri-docker.socket 0644 '' '' 244 cff753b1b547a8dfc206b6482f5261d8bf5583e9010e2177018547a5438ca175" <<'KUBESTRAP_EOF'
# Generated by kubestrap (install-runtime).
[Unit]
Description=CRI socket of cri-dockerd
PartOf=cri-docker.service

[Socket]
ListenStream=%t/cri-dockerd.sock
SocketMode=0660
SocketUser=root
SocketGroup=docker

[Install]
WantedBy=sockets.target
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/systemd/system/cri-docker.service 0644 '' '' 805 f77aac64732a634e6523d604285fa4cf915435afe6b8d6ce9dc45328576acf59" <<'KUBESTRAP_EOF'
# Generated by kubestrap (install-runtime).
[Unit]
Description=CRI shim for Docker Engine (cri-dockerd)
Documentation=https://mirantis.github.io/cri-dockerd/
After=network-online.target docker.service
Wants=network-online.target
# Requires= also carries a restart of docker over to cri-dockerd.
Requires=cri-docker.socket docker.service
StartLimitBurst=3
StartLimitIntervalSec=60

[Service]
Type=notify
ExecStart=/usr/local/bin/cri-dockerd --container-runtime-endpoint fd:// --pod-infra-container-image=registry.k8s.io/pause:3.10.2 --network-plugin=cni --hairpin-mode=hairpin-veth
ExecReload=/bin/kill -s HUP $MAINPID
Restart=always
RestartSec=2
TimeoutSec=0
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/crictl.yaml 0644 '' '' 125 efdfbc5fea4c1895f9e49e047838ea30f5b3a0303f324a43af901bcec9675509" <<'KUBESTRAP_EOF'
# Generated by kubestrap (install-runtime): crictl talks to this runtime.
runtime-endpoint: unix:///var/run/cri-dockerd.sock
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl daemon-reload'
# checked: systemctl is-active --quiet docker.socket
# checked: systemctl is-enabled --quiet docker.socket
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl enable docker.socket'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl start docker.socket'
# checked: systemctl is-active --quiet docker
# checked: systemctl is-enabled --quiet docker
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl enable docker'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl restart docker'
# checked: systemctl is-active --quiet cri-docker.socket
# checked: systemctl is-enabled --quiet cri-docker.socket
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl enable cri-docker.socket'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl restart cri-docker.socket'
# checked: systemctl is-active --quiet cri-docker
# checked: systemctl is-enabled --quiet cri-docker
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl enable cri-docker'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl restart cri-docker'

# ── node.kubernetes (install-kubernetes on ssh:root@192.168.1.20:22): change
# info: kubectl for this cluster: /var/lib/kubestrap/binaries/v1.37.1/kubectl (kubestrap does not put it on PATH)
# checked: uname -m
# cached: https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubelet.sha256 → $KUBESTRAP_HOME/cache/downloads/2ff217a43a9b433b/kubelet.sha256
# cached: https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubeadm.sha256 → $KUBESTRAP_HOME/cache/downloads/ac7837f1e7fdc534/kubeadm.sha256
# cached: https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubectl.sha256 → $KUBESTRAP_HOME/cache/downloads/7b1852e4bcb65db8/kubectl.sha256
# cached: https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.37.0/crictl-v1.37.0-linux-amd64.tar.gz.sha256 → $KUBESTRAP_HOME/cache/downloads/49e24d627b29c3d3/crictl-v1.37.0-linux-amd64.tar.gz.sha256
mkdir -p $KUBESTRAP_HOME/cache/downloads/6960eec622a0707f
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/6960eec622a0707f/kubelet https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubelet
echo '025326c1eae571c58e891fe842747a7b5acc78c237f5f13e18bd44dffe2f1916  $KUBESTRAP_HOME/cache/downloads/6960eec622a0707f/kubelet' | sha256sum -c --quiet -
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/binaries/v1.37.1/kubelet 0755 '' '' '' 025326c1eae571c58e891fe842747a7b5acc78c237f5f13e18bd44dffe2f1916" < $KUBESTRAP_HOME/cache/downloads/6960eec622a0707f/kubelet
mkdir -p $KUBESTRAP_HOME/cache/downloads/a5f34cac0b581661
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/a5f34cac0b581661/kubeadm https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubeadm
echo '1699cfc7864087682ea85cf6a3a7c96002f17aa3c96e742c8cf792e7367317ef  $KUBESTRAP_HOME/cache/downloads/a5f34cac0b581661/kubeadm' | sha256sum -c --quiet -
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/binaries/v1.37.1/kubeadm 0755 '' '' '' 1699cfc7864087682ea85cf6a3a7c96002f17aa3c96e742c8cf792e7367317ef" < $KUBESTRAP_HOME/cache/downloads/a5f34cac0b581661/kubeadm
mkdir -p $KUBESTRAP_HOME/cache/downloads/a908a9245660e50c
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/a908a9245660e50c/kubectl https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubectl
echo 'a45f60acd13e5212ce2c97c9a83bb2d2727289b3c82f965f21a3d62a3ccc1dd8  $KUBESTRAP_HOME/cache/downloads/a908a9245660e50c/kubectl' | sha256sum -c --quiet -
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/binaries/v1.37.1/kubectl 0755 '' '' '' a45f60acd13e5212ce2c97c9a83bb2d2727289b3c82f965f21a3d62a3ccc1dd8" < $KUBESTRAP_HOME/cache/downloads/a908a9245660e50c/kubectl
mkdir -p $KUBESTRAP_HOME/cache/downloads/9fe5c97a55bfee96
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/9fe5c97a55bfee96/crictl-v1.37.0-linux-amd64.tar.gz https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.37.0/crictl-v1.37.0-linux-amd64.tar.gz
echo 'da73fbab8cfa4fe7f938b224a2ab676afe8796e2c87c3af96526e04e1476b485  $KUBESTRAP_HOME/cache/downloads/9fe5c97a55bfee96/crictl-v1.37.0-linux-amd64.tar.gz' | sha256sum -c --quiet -
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-amd64.tar.gz 0644 '' '' '' da73fbab8cfa4fe7f938b224a2ab676afe8796e2c87c3af96526e04e1476b485" < $KUBESTRAP_HOME/cache/downloads/9fe5c97a55bfee96/crictl-v1.37.0-linux-amd64.tar.gz
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'tar -xzf /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-amd64.tar.gz -C /var/lib/kubestrap/binaries/v1.37.1 crictl'

# ── node.kubelet (configure-kubelet on ssh:root@192.168.1.20:22): change
# info: /etc/resolv.conf points at systemd-resolved's stub 127.0.0.53, which pods cannot use (CoreDNS would forward to itself: a DNS loop): the kubelet reads /run/systemd/resolve/resolv.conf, the real upstream servers, instead
# info: /run/systemd/resolve/resolv.conf lists 4 nameservers; the kubelet uses at most 3: it reads /var/lib/kubestrap/resolv.conf, which keeps 192.168.1.1, 1.1.1.1, 9.9.9.9
# read: /etc/resolv.conf
# read: /run/systemd/resolve/resolv.conf
# checked: systemctl is-enabled --quiet kubelet
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/systemd/system/kubelet.service 0644 '' '' 382 77c1b87a3e24e04f445aae3f7f7bdf3e8153368b2a03f6573bf56f28d707ed19" <<'KUBESTRAP_EOF'
[Unit]
Description=kubelet: the Kubernetes node agent (kubestrap profile kubestrap)
Documentation=https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/var/lib/kubestrap/binaries/v1.37.1/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/systemd/system/kubelet.service.d/10-kubeadm.conf 0644 '' '' 690 d414bad7f88eaf59255e841303c703d7b495270a6e0ca44132f3bb9317bb1ef7" <<'KUBESTRAP_EOF'
# Written by kubestrap: how kubeadm expects the kubelet to be started.
[Unit]
Wants=docker.socket docker.service cri-docker.socket cri-docker.service
After=docker.socket docker.service cri-docker.socket cri-docker.service

[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/var/lib/kubestrap/binaries/v1.37.1/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/resolv.conf 0644 '' '' 174 13a695023db07bf548f6cdf159e0310721dc1da837185490cfe51efe69f86ddc" <<'KUBESTRAP_EOF'
# Written by kubestrap from /run/systemd/resolve/resolv.conf: the kubelet uses at most 3 nameservers.
nameserver 192.168.1.1
nameserver 1.1.1.1
nameserver 9.9.9.9
search lan
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl daemon-reload'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'systemctl enable kubelet'

# ── node.control-plane-name (control-plane-name on ssh:root@192.168.1.20:22): change
# read: /etc/hosts
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /etc/hosts 0644 '' /root/.kubestrap/backups/kubestrap/etc/hosts 238 b3113daf6d3bf0fa6915dd05b2f945a06ab945765ce88507c49c4964f338c210" <<'KUBESTRAP_EOF'
127.0.0.1	localhost
127.0.1.1	workstation

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
192.168.1.20	control-plane.kubestrap.internal	# kubestrap: the control plane's stable name
KUBESTRAP_EOF

# ── node.kubeadm-config (kubeadm-config on ssh:root@192.168.1.20:22): change
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- "sh -c $(shq "$WRITE_FILE") write-file /var/lib/kubestrap/kubeadm.yaml 0644 '' '' 1492 60034796a9cc162503c7f7347125fc1ea106917dc7e745912715e46545cfa722" <<'KUBESTRAP_EOF'
# kubeadm configuration written by kubestrap (cluster kubestrap, Kubernetes v1.37.1, v1beta4).
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.168.1.20
  bindPort: 8443
nodeRegistration:
  criSocket: unix:///var/run/cri-dockerd.sock
  imagePullPolicy: IfNotPresent
  kubeletExtraArgs:
    - name: node-ip
      value: 192.168.1.20
  taints: []
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: kubestrap
kubernetesVersion: v1.37.1
controlPlaneEndpoint: control-plane.kubestrap.internal:8443
certificatesDir: /var/lib/kubestrap/certs
etcd:
  local:
    dataDir: /var/lib/kubestrap/etcd
networking:
  dnsDomain: cluster.local
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
apiServer:
  certSANs:
    - 127.0.0.1
    - localhost
    - 192.168.1.20
    - control-plane.kubestrap.internal
controllerManager: {}
scheduler: {}
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///var/run/cri-dockerd.sock
resolvConf: /var/lib/kubestrap/resolv.conf
staticPodPath: /etc/kubernetes/manifests
failSwapOn: false
imageGCHighThresholdPercent: 100
evictionHard:
  nodefs.available: 0%
  nodefs.inodesFree: 0%
  imagefs.available: 0%
failCgroupV1: false
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clusterCIDR: 10.244.0.0/16
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
KUBESTRAP_EOF
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- '/var/lib/kubestrap/binaries/v1.37.1/kubeadm config validate --config /var/lib/kubestrap/kubeadm.yaml'

# ── node.init (kubeadm-init on ssh:root@192.168.1.20:22): change
# declared: writes /etc/kubernetes/admin.conf (new)
# declared: writes /etc/kubernetes/super-admin.conf (new)
# declared: writes /etc/kubernetes/kubelet.conf (new)
# declared: writes /etc/kubernetes/controller-manager.conf (new)
# declared: writes /etc/kubernetes/scheduler.conf (new)
# declared: writes /etc/kubernetes/manifests/etcd.yaml (new)
# declared: writes /etc/kubernetes/manifests/kube-apiserver.yaml (new)
# declared: writes /etc/kubernetes/manifests/kube-controller-manager.yaml (new)
# declared: writes /etc/kubernetes/manifests/kube-scheduler.yaml (new)
# declared: writes /var/lib/kubestrap/certs (new)
# declared: writes /var/lib/kubestrap/etcd (new)
# declared: writes /var/lib/kubelet/config.yaml (new)
# declared: writes /var/lib/kubelet/kubeadm-flags.env (new)
# declared: writes /var/lib/kubelet/instance-config.yaml (new)
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'env PATH=/var/lib/kubestrap/binaries/v1.37.1:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin kubeadm init --config /var/lib/kubestrap/kubeadm.yaml --ignore-preflight-errors=Swap'

# ── node.pod-network (apply-cni on ssh:root@192.168.1.20:22): already done, nothing to do

# ── node.kubeconfig (user-kubeconfig on ssh:root@192.168.1.20:22): change
# info: the kubeconfig is /root/.kube/config on ssh:root@192.168.1.20:22: copy it here (e.g. with scp) to use kubectl from this machine
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'mkdir -m 0700 /root/.kube'
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'install -m 0600 -o 0 -g 0 /etc/kubernetes/admin.conf /root/.kube/config'

# ── node.wait (wait-apiserver on ssh:root@192.168.1.20:22): change
# checked: /var/lib/kubestrap/binaries/v1.37.1/kubectl --kubeconfig /root/.kube/config --request-timeout=5s get --raw=/livez
ssh -p 22 -o BatchMode=yes root@192.168.1.20 -- 'sh -c '\''deadline=$(( $(date +%s) + $3 ))
until "$1" --kubeconfig "$2" --request-timeout=5s get --raw=/livez >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then echo "the API server did not answer /livez within $3 s" >&2; exit 1; fi
  sleep 2
done'\'' wait-apiserver /var/lib/kubestrap/binaries/v1.37.1/kubectl /root/.kube/config 300'

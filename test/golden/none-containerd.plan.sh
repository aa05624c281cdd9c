#!/usr/bin/env bash
# Values are single-quoted on purpose (nothing in them may expand); files put from the download
# cache are read as you, then written as root.
# shellcheck disable=SC1003,SC2016,SC2024,SC2034
# kubestrap plan: recipe driver-none, profile kubestrap
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

# ── preflight (preflight): already done, nothing to do
# warn: kube-apiserver :8443, kubelet :10250, etcd (clients) :2379, etcd (peers) :2380, kube-proxy (healthz) :10256 will accept connections on 192.168.1.20: reachable from other machines on those networks — block these ports in the firewall unless other machines should reach the cluster
# warn: swap is on (/dev/sda3): the kubelet is configured to tolerate it (failSwapOn: false), and pods may be swapped out — sudo swapoff -a turns it off (and remove it from /etc/fstab to keep it off)
# info: not installed yet: conntrack, socat, crictl (kubestrap installs them in the next steps)
# checked: k=@@kubestrap-fact@@\ne() { printf '\n%s . %s\n' "$k" "$1"; }\n{\necho "$k 10"; { v=$( (set -- containerd runc dockerd --\np=$(for b in "$@"; do [ "$b" = -- ] && break; command -v "$b"; done)\n# shellcheck disable=SC2086 # the paths are split as command -v printed them, one a line\nstat -L -c '%n %d %i %s %.9Y %.9Z' -- $p /var/lib/dpkg/status /var/lib/rpm 2>/dev/null\n)\n); [ -z "$v" ] || printf '%s\n' "$v"\nif [ -n "$v" ] && [ "$v" = "${kept_10-}" ]; then echo "@@kubestrap-memo@@ kept"; else echo "@@kubestrap-memo@@ asked"\n(set -- containerd runc dockerd -- containerd runc docker.io containerd.io docker-ce\nn=0; for a in "$@"; do n=$((n + 1)); [ "$a" = -- ] && break; done\nm=$#\nfor b in "$@"; do\n  [ "$b" = -- ] && break\n  p=$(command -v "$b" 2>/dev/null) || continue\n  ( v=$("$p" --version 2>/dev/null </dev/null | { IFS= read -r l; printf %s "$l"; }); printf "binary\t%s\t%s\t%s\n" "$b" "$p" "$v" ) &\n  set -- "$@" "$p"\ndone\nu=$(i=0; for a in "$@"; do i=$((i + 1)); [ $i -gt $n ] && [ $i -le $m ] && printf "%s\n" "$a"; done)\nshift "$m"\nif [ $# -gt 0 ] && command -v dpkg-query >/dev/null 2>&1; then\n  t=$(printf "\t")\n  l=$(for q in $u; do for f in /var/lib/dpkg/info/"$q".list /var/lib/dpkg/info/"$q":*.list; do [ -f "$f" ] && printf "%s\n" "$f"; done; done)\n  # shellcheck disable=SC2086 # the lists are dpkg file names: no spaces, no wildcards\n  o=$([ -z "$l" ] || grep -Fx -e "$(printf "%s\n" "$@")" -- $l /dev/null | while IFS= read -r r; do f=${r%%:/*}; f=${f##*/}; f=${f%.list}; printf "owner\t/%s\t%s\n" "${r#*:/}" "${f%%:*}"; done)\n  [ -z "$o" ] || printf "%s\n" "$o"\n  for p in "$@"; do case "$o" in *"owner$t$p$t"*) ;; *) set -- "$@" "$p" ;; esac; shift; done\n  [ $# -eq 0 ] || dpkg-query -S -- "$@" 2>/dev/null | while IFS= read -r l; do case $l in diversion*) ;; *": /"*) printf "owner\t%s\t%s\n" "${l#*: }" "${l%%: /*}" ;; esac; done\nelif [ $# -gt 0 ] && command -v rpm >/dev/null 2>&1; then\n  for p in "$@"; do o=$(rpm -qf --qf "%{NAME}" -- "$p" 2>/dev/null) && printf "owner\t%s\t%s\n" "$p" "$o"; done\nfi\nwait\nexit 0\n)\nfi\n} </dev/null 2>/dev/null; e $?\n} | {\necho "$k 0"; { (set -- systemctl\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 3"; { ip -4 -o route show default\n} </dev/null 2>/dev/null; e $?\necho "$k 6"; { nproc\n} </dev/null 2>/dev/null; e $?\necho "$k 9"; { (set -- crictl\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 13"; { (set -- /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 16"; { test -r /etc/cni/net.d -a -x /etc/cni/net.d\n} </dev/null 2>/dev/null; e $?\necho "$k 19"; { (set -- /etc/crictl.yaml\n[ -e "$1" ] || exit 0; stat -c %a -- "$1"\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 22"; { (set -- /var/cache/kubestrap/containerd-2.3.4-linux-arm64.tar.gz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 25"; { (set -- /etc/systemd/system/containerd.service\n[ -e "$1" ] || exit 0; stat -c %a -- "$1"\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 28"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/kubectl\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k units"; { systemctl is-active containerd docker.socket cri-docker.socket docker cri-docker crio\n} </dev/null 2>/dev/null; e $?\nwhile IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done\n} | {\necho "$k 1"; { uname -m\n} </dev/null 2>/dev/null; e $?\necho "$k 4"; { ip -4 -o addr show scope global\n} </dev/null 2>/dev/null; e $?\necho "$k 7"; { (set -- conntrack\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 11"; { (set -- iptables\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 14"; { (set -- /var/lib/kubestrap/cni/cni-plugins-linux-arm64-v1.9.1.tgz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 17"; { (set -- /etc/cni/net.d\nfor f in "$1"/*; do [ -e "$f" ] && printf "%s\n" "${f##*/}"; done; exit 0\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 20"; { (set -- \nwhile read -r k v; do [ "$k" = CapBnd: ] && echo "$k $v"; done < /proc/self/status; exit 0\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 23"; { (set -- /usr/local/sbin/runc\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 26"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/kubelet\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 29"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-amd64.tar.gz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k enabled"; { (set -- containerd docker.socket cri-docker.socket docker cri-docker crio kubelet\nset -f; found=\nfor u in "$@"; do\n  case $u in *.*) n=$u ;; *) n=$u.service ;; esac\n  case $n in *@?*.*) t=${n%%@*}@.${n##*.} ;; *) t=$n ;; esac\n  f=${SYSTEMD_UNIT_PATH:+y}\n  for d in /etc/systemd/system.control /run/systemd/system.control /run/systemd/transient /run/systemd/generator.early \\n    /etc/systemd/system /etc/systemd/system.attached /run/systemd/system /run/systemd/system.attached /run/systemd/generator \\n    /usr/local/lib/systemd/system /usr/lib/systemd/system /lib/systemd/system /run/systemd/generator.late; do\n    [ -n "$f" ] && break\n    if [ -e "$d/$n" ] || [ -L "$d/$n" ] || [ -e "$d/$t" ]; then f=y; fi\n  done\n  if [ -n "$f" ]; then found="$found $u"; else echo "$u not-found"; fi\ndone\n# shellcheck disable=SC2086 # unit names have no spaces, and globbing is off\nset -- $found\nwhile [ $# -gt 0 ]; do\n  for s in $(systemctl is-enabled -- "$@" 2>/dev/null); do [ $# -gt 0 ] || break; echo "$1 $s"; shift; done\n  [ $# -gt 0 ] || break\n  echo "$1 failed"; shift\ndone\n)\n} </dev/null 2>/dev/null; e $?\nwhile IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done\n} | {\necho "$k 2"; { (set -- ip\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 5"; { ss -Hltn\n} </dev/null 2>/dev/null; e $?\necho "$k 8"; { (set -- socat\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 12"; { (set -- ethtool\ncommand -v "$1" >/dev/null 2>&1\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 15"; { (set -- /var/lib/kubestrap/cni/manifest.yaml\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 18"; { (set -- /etc/containerd/config.toml\n[ -e "$1" ] || exit 0; stat -c %a -- "$1"\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 21"; { (set -- /var/cache/kubestrap/containerd-2.3.4-linux-amd64.tar.gz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 24"; { test -x /usr/local/sbin/runc\n} </dev/null 2>/dev/null; e $?\necho "$k 27"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/kubeadm\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k 30"; { (set -- /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-arm64.tar.gz\n[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }\n)\n} </dev/null 2>/dev/null; e $?\necho "$k packages"; { v=$( for m in apt-get dnf yum zypper pacman apk; do command -v "$m"; done\nstat -L -c '%n %d %i %s %.9Y %.9Z' -- /var/lib/dpkg/status /var/lib/dpkg/updates /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages \\n  /var/lib/pacman/local /lib/apk/db/installed 2>/dev/null\n); [ -z "$v" ] || printf '%s\n' "$v"\nif [ -n "$v" ] && [ "$v" = "${kept_packages-}" ]; then echo "@@kubestrap-memo@@ kept"; else echo "@@kubestrap-memo@@ asked"\n(set -- conntrack socat iptables ethtool iproute2 containerd runc\nfor m in apt-get dnf yum zypper pacman apk; do command -v "$m" >/dev/null 2>&1 && break; m=; done\n[ -n "$m" ] || exit 3\necho "manager $m"\n[ $# -gt 0 ] || exit 0\ncase $m in\n  apt-get) dpkg-query -W -f '${db:Status-Status} ${Package} ${Version}\n' -- "$@" 2>/dev/null | while read -r s p v; do [ "$s" = installed ] && echo "package $p $v"; done ;;\n  dnf|yum|zypper) rpm -q --qf 'package %{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\n' -- "$@" 2>/dev/null | grep "^package " ;;\n  pacman) pacman -Q -- "$@" 2>/dev/null | sed "s/^/package /" ;;\n  apk) for p in "$@"; do apk info -e -- "$p" >/dev/null 2>&1 && echo "package $p"; done ;;\nesac\nexit 0\n)\nfi\n} </dev/null 2>/dev/null; e $?\nwhile IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done\n}
# checked: sudo -n true
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
# checked: sh -c 'n=0; for a in "$@"; do n=$((n + 1)); [ "$a" = -- ] && break; done\nm=$#\nfor b in "$@"; do\n  [ "$b" = -- ] && break\n  p=$(command -v "$b" 2>/dev/null) || continue\n  ( v=$("$p" --version 2>/dev/null </dev/null | { IFS= read -r l; printf %s "$l"; }); printf "binary\t%s\t%s\t%s\n" "$b" "$p" "$v" ) &\n  set -- "$@" "$p"\ndone\nu=$(i=0; for a in "$@"; do i=$((i + 1)); [ $i -gt $n ] && [ $i -le $m ] && printf "%s\n" "$a"; done)\nshift "$m"\nif [ $# -gt 0 ] && command -v dpkg-query >/dev/null 2>&1; then\n  t=$(printf "\t")\n  l=$(for q in $u; do for f in /var/lib/dpkg/info/"$q".list /var/lib/dpkg/info/"$q":*.list; do [ -f "$f" ] && printf "%s\n" "$f"; done; done)\n  # shellcheck disable=SC2086 # the lists are dpkg file names: no spaces, no wildcards\n  o=$([ -z "$l" ] || grep -Fx -e "$(printf "%s\n" "$@")" -- $l /dev/null | while IFS= read -r r; do f=${r%%:/*}; f=${f##*/}; f=${f%.list}; printf "owner\t/%s\t%s\n" "${r#*:/}" "${f%%:*}"; done)\n  [ -z "$o" ] || printf "%s\n" "$o"\n  for p in "$@"; do case "$o" in *"owner$t$p$t"*) ;; *) set -- "$@" "$p" ;; esac; shift; done\n  [ $# -eq 0 ] || dpkg-query -S -- "$@" 2>/dev/null | while IFS= read -r l; do case $l in diversion*) ;; *": /"*) printf "owner\t%s\t%s\n" "${l#*: }" "${l%%: /*}" ;; esac; done\nelif [ $# -gt 0 ] && command -v rpm >/dev/null 2>&1; then\n  for p in "$@"; do o=$(rpm -qf --qf "%{NAME}" -- "$p" 2>/dev/null) && printf "owner\t%s\t%s\n" "$p" "$o"; done\nfi\nwait\nexit 0' sh containerd runc dockerd -- containerd runc docker.io containerd.io docker-ce

# ── claim (claim-node): change
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/cluster.json 0644 '' '' 70 d21b720611985d6e59e6b03cfefee608d2a981450b3fcea1e1267329d8775876 <<'KUBESTRAP_EOF'
{"profile":"kubestrap","driver":"none","kubernetesVersion":"v1.37.1"}
KUBESTRAP_EOF

# ── prepare (prepare-node): change
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh conntrack
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh socat
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh iptables
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh ethtool
# checked: sh -c 'command -v "$1" >/dev/null 2>&1' sh ip
# read: /proc/filesystems
# read: /proc/sys/net/ipv4/ip_forward
# checked: sh -c 'for m in apt-get dnf yum zypper pacman apk; do command -v "$m" >/dev/null 2>&1 && break; m=; done\n[ -n "$m" ] || exit 3\necho "manager $m"\n[ $# -gt 0 ] || exit 0\ncase $m in\n  apt-get) dpkg-query -W -f '\''${db:Status-Status} ${Package} ${Version}\n'\'' -- "$@" 2>/dev/null | while read -r s p v; do [ "$s" = installed ] && echo "package $p $v"; done ;;\n  dnf|yum|zypper) rpm -q --qf '\''package %{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\n'\'' -- "$@" 2>/dev/null | grep "^package " ;;\n  pacman) pacman -Q -- "$@" 2>/dev/null | sed "s/^/package /" ;;\n  apk) for p in "$@"; do apk info -e -- "$p" >/dev/null 2>&1 && echo "package $p"; done ;;\nesac\nexit 0' package-state conntrack socat iptables ethtool
# checked: sh -c 'export LC_ALL=C\nd=${KUBESTRAP_HOME:-$HOME/.kubestrap}/cache/apt\nstate=$(stat -c "%n %s %i %.9Y %.9Z" /etc/apt /etc/apt/* /etc/apt/*/* /var/lib/dpkg/status /var/lib/dpkg/arch /var/lib/dpkg/updates /var/lib/apt/extended_states /var/lib/apt/lists /var/lib/apt/lists/* 2>/dev/null)\nf=\ncase $state in *"/var/lib/dpkg/status "*)\n  h=$(printf "%s\n" "$*" "${APT_CONFIG-}" "$state" | sha256sum) && f=$d/answers/${h%% *}\n  [ -r "$f" ] && exec cat -- "$f" ;;\nesac\neval "$(apt-config shell c Dir::Cache::pkgcache)"\n[ -n "$c" ] || ! mkdir -p -- "$d" 2>/dev/null || set -- -o "Dir::Cache::pkgcache=$d/pkgcache.bin" "$@"\n[ -n "$f" ] && mkdir -p -- "$d/answers" 2>/dev/null || exec apt-get "$@"\napt-get "$@" >"$f.$$"; s=$?\ncat -- "$f.$$"\nif [ $s = 0 ]; then find "$d/answers" -type f -mtime +7 -exec rm -f -- {} + 2>/dev/null; mv -f -- "$f.$$" "$f"; else rm -f -- "$f.$$"; fi\nexit $s' apt-get -s install --no-install-recommends -- conntrack socat iptables ethtool
sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --no-remove -- conntrack socat iptables ethtool
sudo -n sh -c "$WRITE_FILE" write-file /etc/modules-load.d/kubestrap.conf 0644 '' '' 103 c3b89cf2623951cffbd513c3493effa61d05eda3c98969f6ab4c3875064121b2 <<'KUBESTRAP_EOF'
# Written by kubestrap: kernel modules the container runtime and kube-proxy need.
overlay
br_netfilter
KUBESTRAP_EOF
sudo -n modprobe br_netfilter
sudo -n sh -c "$WRITE_FILE" write-file /etc/sysctl.d/99-kubestrap.conf 0644 '' '' 198 b1664c04f814400682a16ed5116259fb0a5b29ae0ddcb7e7247398b3cd1364e4 <<'KUBESTRAP_EOF'
# Written by kubestrap: pods' bridged traffic goes through iptables, and the node forwards it.
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
KUBESTRAP_EOF
sudo -n sysctl -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 net.ipv4.ip_forward=1

# ── cni (install-cni): change
# checked: uname -m
# checked: uname -m
# cached: https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz.sha256 → $KUBESTRAP_HOME/cache/downloads/bce1d16e35a20bc7/cni-plugins-linux-amd64-v1.9.1.tgz.sha256
# checked: sh -c '[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }' sh /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz
# checked: sh -c 'for f in "$1"/*; do [ -e "$f" ] && printf "%s\n" "${f##*/}"; done; exit 0' sh /etc/cni/net.d
mkdir -p $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz
echo '1d5f1dd05f10fc5f416fce34cb1fcb894a77372db756708645e9071a10259a99  $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz' | sha256sum -c --quiet -
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz 0644 '' '' '' 1d5f1dd05f10fc5f416fce34cb1fcb894a77372db756708645e9071a10259a99 < $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz
sudo -n mkdir -p /opt/cni/bin
# declared: writes /opt/cni/bin/bandwidth (new)
# declared: writes /opt/cni/bin/bridge (new)
# declared: writes /opt/cni/bin/firewall (new)
# declared: writes /opt/cni/bin/host-local (new)
# declared: writes /opt/cni/bin/loopback (new)
# declared: writes /opt/cni/bin/portmap (new)
# declared: writes /opt/cni/bin/tuning (new)
sudo -n tar -xzf /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz -C /opt/cni/bin --no-same-owner ./bandwidth ./bridge ./firewall ./host-local ./loopback ./portmap ./tuning
sudo -n sh -c "$WRITE_FILE" write-file /etc/cni/net.d/1-kubestrap-bridge.conflist 0644 '' '' 579 27b1324c3bd512b87ed156c453ad38da88b186d7ba5370173fdb1433fd98d3a2 <<'KUBESTRAP_EOF'
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
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/cni/1-kubestrap-bridge.conflist 0644 '' '' 579 27b1324c3bd512b87ed156c453ad38da88b186d7ba5370173fdb1433fd98d3a2 <<'KUBESTRAP_EOF'
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

# ── runtime (install-runtime): change
# warn: the distribution's containerd 1.6.20 is too old (Kubernetes v1.37.1 needs containerd 2.2.0+ or 2.3.0+): kubestrap installs containerd 2.3.4 and runc 1.4.4 from their releases into /usr/local/bin and /usr/local/sbin instead
# checked: sh -c 'while read -r k v; do [ "$k" = CapBnd: ] && echo "$k $v"; done < /proc/self/status; exit 0'
# checked: sh -c 'n=0; for a in "$@"; do n=$((n + 1)); [ "$a" = -- ] && break; done\nm=$#\nfor b in "$@"; do\n  [ "$b" = -- ] && break\n  p=$(command -v "$b" 2>/dev/null) || continue\n  ( v=$("$p" --version 2>/dev/null </dev/null | { IFS= read -r l; printf %s "$l"; }); printf "binary\t%s\t%s\t%s\n" "$b" "$p" "$v" ) &\n  set -- "$@" "$p"\ndone\nu=$(i=0; for a in "$@"; do i=$((i + 1)); [ $i -gt $n ] && [ $i -le $m ] && printf "%s\n" "$a"; done)\nshift "$m"\nif [ $# -gt 0 ] && command -v dpkg-query >/dev/null 2>&1; then\n  t=$(printf "\t")\n  l=$(for q in $u; do for f in /var/lib/dpkg/info/"$q".list /var/lib/dpkg/info/"$q":*.list; do [ -f "$f" ] && printf "%s\n" "$f"; done; done)\n  # shellcheck disable=SC2086 # the lists are dpkg file names: no spaces, no wildcards\n  o=$([ -z "$l" ] || grep -Fx -e "$(printf "%s\n" "$@")" -- $l /dev/null | while IFS= read -r r; do f=${r%%:/*}; f=${f##*/}; f=${f%.list}; printf "owner\t/%s\t%s\n" "${r#*:/}" "${f%%:*}"; done)\n  [ -z "$o" ] || printf "%s\n" "$o"\n  for p in "$@"; do case "$o" in *"owner$t$p$t"*) ;; *) set -- "$@" "$p" ;; esac; shift; done\n  [ $# -eq 0 ] || dpkg-query -S -- "$@" 2>/dev/null | while IFS= read -r l; do case $l in diversion*) ;; *": /"*) printf "owner\t%s\t%s\n" "${l#*: }" "${l%%: /*}" ;; esac; done\nelif [ $# -gt 0 ] && command -v rpm >/dev/null 2>&1; then\n  for p in "$@"; do o=$(rpm -qf --qf "%{NAME}" -- "$p" 2>/dev/null) && printf "owner\t%s\t%s\n" "$p" "$o"; done\nfi\nwait\nexit 0' sh containerd runc dockerd -- containerd runc docker.io containerd.io docker-ce
# checked: sh -c 'for m in apt-get dnf yum zypper pacman apk; do command -v "$m" >/dev/null 2>&1 && break; m=; done\n[ -n "$m" ] || exit 3\necho "manager $m"\n[ $# -gt 0 ] || exit 0\ncase $m in\n  apt-get) dpkg-query -W -f '\''${db:Status-Status} ${Package} ${Version}\n'\'' -- "$@" 2>/dev/null | while read -r s p v; do [ "$s" = installed ] && echo "package $p $v"; done ;;\n  dnf|yum|zypper) rpm -q --qf '\''package %{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\n'\'' -- "$@" 2>/dev/null | grep "^package " ;;\n  pacman) pacman -Q -- "$@" 2>/dev/null | sed "s/^/package /" ;;\n  apk) for p in "$@"; do apk info -e -- "$p" >/dev/null 2>&1 && echo "package $p"; done ;;\nesac\nexit 0' package-state containerd runc
# checked: sh -c 'export LC_ALL=C\nd=${KUBESTRAP_HOME:-$HOME/.kubestrap}/cache/apt\nstate=$(stat -c "%n %s %i %.9Y %.9Z" /etc/apt /etc/apt/* /etc/apt/*/* /var/lib/dpkg/status /var/lib/dpkg/arch /var/lib/dpkg/updates /var/lib/apt/extended_states /var/lib/apt/lists /var/lib/apt/lists/* 2>/dev/null)\nf=\ncase $state in *"/var/lib/dpkg/status "*)\n  h=$(printf "%s\n" "$*" "${APT_CONFIG-}" "$state" | sha256sum) && f=$d/answers/${h%% *}\n  [ -r "$f" ] && exec cat -- "$f" ;;\nesac\neval "$(apt-config shell c Dir::Cache::pkgcache)"\n[ -n "$c" ] || ! mkdir -p -- "$d" 2>/dev/null || set -- -o "Dir::Cache::pkgcache=$d/pkgcache.bin" "$@"\n[ -n "$f" ] && mkdir -p -- "$d/answers" 2>/dev/null || exec apt-get "$@"\napt-get "$@" >"$f.$$"; s=$?\ncat -- "$f.$$"\nif [ $s = 0 ]; then find "$d/answers" -type f -mtime +7 -exec rm -f -- {} + 2>/dev/null; mv -f -- "$f.$$" "$f"; else rm -f -- "$f.$$"; fi\nexit $s' apt-get -s install --no-install-recommends -- containerd runc
# checked: uname -m
# cached: https://github.com/containerd/containerd/releases/download/v2.3.4/containerd-2.3.4-linux-amd64.tar.gz.sha256sum → $KUBESTRAP_HOME/cache/downloads/4eb46141d454f9ee/containerd-2.3.4-linux-amd64.tar.gz.sha256sum
# cached: https://github.com/opencontainers/runc/releases/download/v1.4.4/runc.sha256sum → $KUBESTRAP_HOME/cache/downloads/e989f2e112c238da/runc.sha256sum
# checked: sh -c '[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }' sh /var/cache/kubestrap/containerd-2.3.4-linux-amd64.tar.gz
# checked: sh -c 'while read -r k v; do [ "$k" = CapBnd: ] && echo "$k $v"; done < /proc/self/status; exit 0'
# checked: systemctl is-active --quiet docker.socket
# checked: systemctl is-enabled --quiet docker.socket
# checked: systemctl is-active --quiet cri-docker.socket
# checked: systemctl is-enabled --quiet cri-docker.socket
# checked: systemctl is-active --quiet docker
# checked: systemctl is-enabled --quiet docker
# checked: systemctl is-active --quiet cri-docker
# checked: systemctl is-enabled --quiet cri-docker
# checked: systemctl is-active --quiet crio
# checked: systemctl is-enabled --quiet crio
# checked: sh -c '[ -f "$1" ] && [ -r "$1" ] || exit 0; sha256sum < "$1" | { read -r h _; echo "$h"; }' sh /var/cache/kubestrap/containerd-2.3.4-linux-amd64.tar.gz
mkdir -p $KUBESTRAP_HOME/cache/downloads/38f43a82f08e5fe2
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/38f43a82f08e5fe2/containerd-2.3.4-linux-amd64.tar.gz https://github.com/containerd/containerd/releases/download/v2.3.4/containerd-2.3.4-linux-amd64.tar.gz
echo '8cc2662ddb118713d77fa3105ccbedd813e24549267eed706cc64a27b495fd21  $KUBESTRAP_HOME/cache/downloads/38f43a82f08e5fe2/containerd-2.3.4-linux-amd64.tar.gz' | sha256sum -c --quiet -
sudo -n sh -c "$WRITE_FILE" write-file /var/cache/kubestrap/containerd-2.3.4-linux-amd64.tar.gz 0644 '' '' '' 8cc2662ddb118713d77fa3105ccbedd813e24549267eed706cc64a27b495fd21 < $KUBESTRAP_HOME/cache/downloads/38f43a82f08e5fe2/containerd-2.3.4-linux-amd64.tar.gz
sudo -n tar -xzf /var/cache/kubestrap/containerd-2.3.4-linux-amd64.tar.gz -C /usr/local/bin --strip-components=1 --no-same-owner bin/containerd bin/containerd-shim-runc-v2 bin/ctr
sudo -n chmod 0755 /usr/local/bin/containerd /usr/local/bin/containerd-shim-runc-v2 /usr/local/bin/ctr
mkdir -p $KUBESTRAP_HOME/cache/downloads/14c494e6c19b08a6
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/14c494e6c19b08a6/runc.amd64 https://github.com/opencontainers/runc/releases/download/v1.4.4/runc.amd64
echo '144ebbf45598d81b9c5d1feb6fb8d61f2846a483df6cbd29019c6cb8b20b2f1f  $KUBESTRAP_HOME/cache/downloads/14c494e6c19b08a6/runc.amd64' | sha256sum -c --quiet -
sudo -n sh -c "$WRITE_FILE" write-file /usr/local/sbin/runc 0755 '' '' '' 144ebbf45598d81b9c5d1feb6fb8d61f2846a483df6cbd29019c6cb8b20b2f1f < $KUBESTRAP_HOME/cache/downloads/14c494e6c19b08a6/runc.amd64
sudo -n sh -c "$WRITE_FILE" write-file /etc/systemd/system/containerd.service 0644 '' '' 528 6683fdbb0a129d5283fe034c66e58fcb8f95753f696b4a8988be8e533b8dd81e <<'KUBESTRAP_EOF'
# Generated by kubestrap (install-runtime): containerd from its upstream release.
[Unit]
Description=containerd container runtime (upstream release, installed by kubestrap)
Documentation=https://containerd.io
After=network.target local-fs.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
KUBESTRAP_EOF
sudo -n sh -c "$WRITE_FILE" write-file /etc/containerd/config.toml 0644 '' '' 935 fc8ac532c6c82a715770d99dd2e196bb2eb9921f1ab8f567c62b12a87a1b7b3b <<'KUBESTRAP_EOF'
# Generated by kubestrap (install-runtime). The whole file is replaced when its settings change.
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.10.2"
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    restrict_oom_score_adj = false
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = true
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
KUBESTRAP_EOF
sudo -n sh -c "$WRITE_FILE" write-file /etc/crictl.yaml 0644 '' '' 131 079ea8a69972abe9a365626228f9c94bb9d65d3544966d79cf6aa3c804b4adc3 <<'KUBESTRAP_EOF'
# Generated by kubestrap (install-runtime): crictl talks to this runtime.
runtime-endpoint: unix:///run/containerd/containerd.sock
KUBESTRAP_EOF
sudo -n systemctl daemon-reload
# checked: systemctl is-active --quiet containerd
# checked: systemctl is-enabled --quiet containerd
sudo -n systemctl enable containerd
sudo -n systemctl restart containerd

# ── kubernetes (install-kubernetes): change
# info: kubectl for this cluster: /var/lib/kubestrap/binaries/v1.37.1/kubectl (kubestrap does not put it on PATH)
# checked: uname -m
# cached: https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubelet.sha256 → $KUBESTRAP_HOME/cache/downloads/2ff217a43a9b433b/kubelet.sha256
# cached: https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubeadm.sha256 → $KUBESTRAP_HOME/cache/downloads/ac7837f1e7fdc534/kubeadm.sha256
# cached: https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubectl.sha256 → $KUBESTRAP_HOME/cache/downloads/7b1852e4bcb65db8/kubectl.sha256
# cached: https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.37.0/crictl-v1.37.0-linux-amd64.tar.gz.sha256 → $KUBESTRAP_HOME/cache/downloads/49e24d627b29c3d3/crictl-v1.37.0-linux-amd64.tar.gz.sha256
mkdir -p $KUBESTRAP_HOME/cache/downloads/6960eec622a0707f
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/6960eec622a0707f/kubelet https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubelet
echo '025326c1eae571c58e891fe842747a7b5acc78c237f5f13e18bd44dffe2f1916  $KUBESTRAP_HOME/cache/downloads/6960eec622a0707f/kubelet' | sha256sum -c --quiet -
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/binaries/v1.37.1/kubelet 0755 '' '' '' 025326c1eae571c58e891fe842747a7b5acc78c237f5f13e18bd44dffe2f1916 < $KUBESTRAP_HOME/cache/downloads/6960eec622a0707f/kubelet
mkdir -p $KUBESTRAP_HOME/cache/downloads/a5f34cac0b581661
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/a5f34cac0b581661/kubeadm https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubeadm
echo '1699cfc7864087682ea85cf6a3a7c96002f17aa3c96e742c8cf792e7367317ef  $KUBESTRAP_HOME/cache/downloads/a5f34cac0b581661/kubeadm' | sha256sum -c --quiet -
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/binaries/v1.37.1/kubeadm 0755 '' '' '' 1699cfc7864087682ea85cf6a3a7c96002f17aa3c96e742c8cf792e7367317ef < $KUBESTRAP_HOME/cache/downloads/a5f34cac0b581661/kubeadm
mkdir -p $KUBESTRAP_HOME/cache/downloads/a908a9245660e50c
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/a908a9245660e50c/kubectl https://dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubectl
echo 'a45f60acd13e5212ce2c97c9a83bb2d2727289b3c82f965f21a3d62a3ccc1dd8  $KUBESTRAP_HOME/cache/downloads/a908a9245660e50c/kubectl' | sha256sum -c --quiet -
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/binaries/v1.37.1/kubectl 0755 '' '' '' a45f60acd13e5212ce2c97c9a83bb2d2727289b3c82f965f21a3d62a3ccc1dd8 < $KUBESTRAP_HOME/cache/downloads/a908a9245660e50c/kubectl
mkdir -p $KUBESTRAP_HOME/cache/downloads/9fe5c97a55bfee96
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/9fe5c97a55bfee96/crictl-v1.37.0-linux-amd64.tar.gz https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.37.0/crictl-v1.37.0-linux-amd64.tar.gz
echo 'da73fbab8cfa4fe7f938b224a2ab676afe8796e2c87c3af96526e04e1476b485  $KUBESTRAP_HOME/cache/downloads/9fe5c97a55bfee96/crictl-v1.37.0-linux-amd64.tar.gz' | sha256sum -c --quiet -
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-amd64.tar.gz 0644 '' '' '' da73fbab8cfa4fe7f938b224a2ab676afe8796e2c87c3af96526e04e1476b485 < $KUBESTRAP_HOME/cache/downloads/9fe5c97a55bfee96/crictl-v1.37.0-linux-amd64.tar.gz
sudo -n tar -xzf /var/lib/kubestrap/binaries/v1.37.1/crictl-v1.37.0-linux-amd64.tar.gz -C /var/lib/kubestrap/binaries/v1.37.1 crictl

# ── kubelet (configure-kubelet): change
# info: /etc/resolv.conf points at systemd-resolved's stub 127.0.0.53, which pods cannot use (CoreDNS would forward to itself: a DNS loop): the kubelet reads /run/systemd/resolve/resolv.conf, the real upstream servers, instead
# info: /run/systemd/resolve/resolv.conf lists 4 nameservers; the kubelet uses at most 3: it reads /var/lib/kubestrap/resolv.conf, which keeps 192.168.1.1, 1.1.1.1, 9.9.9.9
# read: /etc/resolv.conf
# read: /run/systemd/resolve/resolv.conf
# checked: systemctl is-enabled --quiet kubelet
sudo -n sh -c "$WRITE_FILE" write-file /etc/systemd/system/kubelet.service 0644 '' '' 382 77c1b87a3e24e04f445aae3f7f7bdf3e8153368b2a03f6573bf56f28d707ed19 <<'KUBESTRAP_EOF'
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
sudo -n sh -c "$WRITE_FILE" write-file /etc/systemd/system/kubelet.service.d/10-kubeadm.conf 0644 '' '' 596 30e7ba0f61ba988ef7889ad84e3f85bbc43b22a2f6a7c7b985933f8d6b15bcc6 <<'KUBESTRAP_EOF'
# Written by kubestrap: how kubeadm expects the kubelet to be started.
[Unit]
Wants=containerd.service
After=containerd.service

[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/var/lib/kubestrap/binaries/v1.37.1/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
KUBESTRAP_EOF
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/resolv.conf 0644 '' '' 174 13a695023db07bf548f6cdf159e0310721dc1da837185490cfe51efe69f86ddc <<'KUBESTRAP_EOF'
# Written by kubestrap from /run/systemd/resolve/resolv.conf: the kubelet uses at most 3 nameservers.
nameserver 192.168.1.1
nameserver 1.1.1.1
nameserver 9.9.9.9
search lan
KUBESTRAP_EOF
sudo -n systemctl daemon-reload
sudo -n systemctl enable kubelet

# ── control-plane-name (control-plane-name): change
# read: /etc/hosts
sudo -n sh -c "$WRITE_FILE" write-file /etc/hosts 0644 '' $KUBESTRAP_HOME/profiles/kubestrap/backups/etc/hosts 238 b3113daf6d3bf0fa6915dd05b2f945a06ab945765ce88507c49c4964f338c210 <<'KUBESTRAP_EOF'
127.0.0.1	localhost
127.0.1.1	workstation

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
192.168.1.20	control-plane.kubestrap.internal	# kubestrap: the control plane's stable name
KUBESTRAP_EOF

# ── kubeadm-config (kubeadm-config): change
sudo -n sh -c "$WRITE_FILE" write-file /var/lib/kubestrap/kubeadm.yaml 0644 '' '' 1504 e2771d5984a838f9393f8471e2e9934994d8421837559d94bd51dd12239b5255 <<'KUBESTRAP_EOF'
# kubeadm configuration written by kubestrap (cluster kubestrap, Kubernetes v1.37.1, v1beta4).
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 192.168.1.20
  bindPort: 8443
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
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
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
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
/var/lib/kubestrap/binaries/v1.37.1/kubeadm config validate --config /var/lib/kubestrap/kubeadm.yaml

# ── init (kubeadm-init): change
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
sudo -n env PATH=/var/lib/kubestrap/binaries/v1.37.1:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin kubeadm init --config /var/lib/kubestrap/kubeadm.yaml --ignore-preflight-errors=Swap

# ── pod-network (apply-cni): already done, nothing to do

# ── kubeconfig (user-kubeconfig): change
mkdir -m 0700 /home/alice/.kube
sudo -n install -m 0600 -o 1000 -g 1000 /etc/kubernetes/admin.conf /home/alice/.kube/config

# ── wait (wait-apiserver): change
# checked: /var/lib/kubestrap/binaries/v1.37.1/kubectl --kubeconfig /home/alice/.kube/config --request-timeout=5s get --raw=/livez
sh -c 'deadline=$(( $(date +%s) + $3 ))
until "$1" --kubeconfig "$2" --request-timeout=5s get --raw=/livez >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then echo "the API server did not answer /livez within $3 s" >&2; exit 1; fi
  sleep 2
done' wait-apiserver /var/lib/kubestrap/binaries/v1.37.1/kubectl /home/alice/.kube/config 300

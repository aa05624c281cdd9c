#!/usr/bin/env bash
# Values are single-quoted on purpose (nothing in them may expand); files put from the download
# cache are read as you, then written as root.
# shellcheck disable=SC1003,SC2016,SC2024,SC2034
# kubestrap plan: recipe driver-podman, profile demo
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

# ── cluster.engine (check-container-engine): already done, nothing to do
# info: podman 5.4.2 answers at /run/engine.sock (API 1.41)
# info: cgroup v2 with the systemd cgroup driver; storage driver overlay2
# info: podman runs as root (rootful)
# info: privileged node containers work here
# info: a profile network would get 192.168.49.0/24
# warn: inotify limits are low for several nodes (max_user_watches 122070, max_user_instances 128): kubelets fail with "too many open files" — sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512
# checked: timeout 10 podman --url unix:///run/engine.sock version --format '{{json .}}'
# checked: timeout 10 podman --url unix:///run/engine.sock info --format '{{json .}}'
# checked: cat /proc/self/status
# checked: cat /proc/sys/kernel/cap_last_cap
# checked: podman --url unix:///run/engine.sock network inspect --format '{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}' $(podman --url unix:///run/engine.sock network ls -q)
# checked: ip -o -4 addr show
# checked: ip -4 route show table all
# checked: cat /proc/sys/fs/inotify/max_user_watches
# checked: cat /proc/sys/fs/inotify/max_user_instances

# ── cluster.network (create-container-network): change
# checked: podman --url unix:///run/engine.sock network inspect --format '{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}' $(podman --url unix:///run/engine.sock network ls -q)
# checked: podman --url unix:///run/engine.sock network inspect --format '{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}' $(podman --url unix:///run/engine.sock network ls -q)
# checked: ip -o -4 addr show
# checked: ip -4 route show table all
podman --url unix:///run/engine.sock network create --driver bridge --subnet 192.168.49.0/24 --gateway 192.168.49.1 --label io.kubestrap.created-by=kubestrap --label io.kubestrap.profile=demo demo

# ── cluster.image (build-node-image): change
# checked: uname -m
# cached: https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/kubelet.sha256 → $KUBESTRAP_HOME/cache/downloads/55af166c83b7fc3a/kubelet.sha256
# cached: https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/kubeadm.sha256 → $KUBESTRAP_HOME/cache/downloads/9c69f04ce6cefe0e/kubeadm.sha256
# cached: https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/kubectl.sha256 → $KUBESTRAP_HOME/cache/downloads/d40fbd9473d85c44/kubectl.sha256
# cached: https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.31.0/crictl-v1.31.0-linux-amd64.tar.gz.sha256 → $KUBESTRAP_HOME/cache/downloads/d808d3f648a718a1/crictl-v1.31.0-linux-amd64.tar.gz.sha256
# checked: uname -m
# cached: https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz.sha256 → $KUBESTRAP_HOME/cache/downloads/bce1d16e35a20bc7/cni-plugins-linux-amd64-v1.9.1.tgz.sha256
# checked: podman --url unix:///run/engine.sock image inspect kubestrap-node:v1.31.4-79fa6a075627
mkdir -p $KUBESTRAP_HOME/cache/downloads/88698f9bde0ec79b
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/88698f9bde0ec79b/kubelet https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/kubelet
echo 'c44c0ccdc9e6a06028ff04a15e2584f7e2a3fbfeb9e92734932beae77cf0225b  $KUBESTRAP_HOME/cache/downloads/88698f9bde0ec79b/kubelet' | sha256sum -c --quiet -
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/cache/downloads/node-image-79fa6a075627/kubelet 0644 '' '' '' c44c0ccdc9e6a06028ff04a15e2584f7e2a3fbfeb9e92734932beae77cf0225b < $KUBESTRAP_HOME/cache/downloads/88698f9bde0ec79b/kubelet
mkdir -p $KUBESTRAP_HOME/cache/downloads/7112bc37e1035ff3
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/7112bc37e1035ff3/kubeadm https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/kubeadm
echo '788c5882ddca72439596e5511bb2554f9341f9912873daf6205a3b6e91c3cf64  $KUBESTRAP_HOME/cache/downloads/7112bc37e1035ff3/kubeadm' | sha256sum -c --quiet -
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/cache/downloads/node-image-79fa6a075627/kubeadm 0644 '' '' '' 788c5882ddca72439596e5511bb2554f9341f9912873daf6205a3b6e91c3cf64 < $KUBESTRAP_HOME/cache/downloads/7112bc37e1035ff3/kubeadm
mkdir -p $KUBESTRAP_HOME/cache/downloads/122baff343a393cd
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/122baff343a393cd/kubectl https://dl.k8s.io/release/v1.31.4/bin/linux/amd64/kubectl
echo '5b75075256304c2b430f874efdb244f8111ced45f6e13e9db8c95cd07404ffa5  $KUBESTRAP_HOME/cache/downloads/122baff343a393cd/kubectl' | sha256sum -c --quiet -
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/cache/downloads/node-image-79fa6a075627/kubectl 0644 '' '' '' 5b75075256304c2b430f874efdb244f8111ced45f6e13e9db8c95cd07404ffa5 < $KUBESTRAP_HOME/cache/downloads/122baff343a393cd/kubectl
mkdir -p $KUBESTRAP_HOME/cache/downloads/7be3bea8b3bbaaca
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/7be3bea8b3bbaaca/crictl-v1.31.0-linux-amd64.tar.gz https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.31.0/crictl-v1.31.0-linux-amd64.tar.gz
echo 'cdf0726ce789352285d153893691e943425182c1e07e6c25518d41e5b2657ddf  $KUBESTRAP_HOME/cache/downloads/7be3bea8b3bbaaca/crictl-v1.31.0-linux-amd64.tar.gz' | sha256sum -c --quiet -
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/cache/downloads/node-image-79fa6a075627/crictl-v1.31.0-linux-amd64.tar.gz 0644 '' '' '' cdf0726ce789352285d153893691e943425182c1e07e6c25518d41e5b2657ddf < $KUBESTRAP_HOME/cache/downloads/7be3bea8b3bbaaca/crictl-v1.31.0-linux-amd64.tar.gz
mkdir -p $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499
curl -fsSL -o $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz https://github.com/containernetworking/plugins/releases/download/v1.9.1/cni-plugins-linux-amd64-v1.9.1.tgz
echo '1d5f1dd05f10fc5f416fce34cb1fcb894a77372db756708645e9071a10259a99  $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz' | sha256sum -c --quiet -
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/cache/downloads/node-image-79fa6a075627/cni-plugins-linux-amd64-v1.9.1.tgz 0644 '' '' '' 1d5f1dd05f10fc5f416fce34cb1fcb894a77372db756708645e9071a10259a99 < $KUBESTRAP_HOME/cache/downloads/8047fe4ed77e8499/cni-plugins-linux-amd64-v1.9.1.tgz
sh -c "$WRITE_FILE" write-file $KUBESTRAP_HOME/cache/downloads/node-image-79fa6a075627/Dockerfile 0644 '' '' 1479 e41fde9797b9c742e7d86d4b8804c5cb8f74179ae33554107baf164f301459d4 <<'KUBESTRAP_EOF'
FROM docker.io/library/debian:trixie-slim
RUN missing=; for p in ca-certificates conntrack containerd dbus docker.io ethtool iproute2 iptables kmod procps runc socat sudo systemd systemd-sysv util-linux; do dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"; done; \
    if [ -n "$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; fi
COPY kubelet kubeadm kubectl crictl-v1.31.0-linux-amd64.tar.gz /usr/lib/kubestrap/store/var/lib/kubestrap/binaries/v1.31.4/
RUN mkdir -p /var/lib/kubestrap/binaries && ln -s /usr/lib/kubestrap/store/var/lib/kubestrap/binaries/v1.31.4 /var/lib/kubestrap/binaries/v1.31.4 && cd /var/lib/kubestrap/binaries/v1.31.4 && chmod 0755 kubelet kubeadm kubectl && tar -xzf crictl-*.tar.gz crictl
COPY cni-plugins-linux-amd64-v1.9.1.tgz /usr/lib/kubestrap/store/var/lib/kubestrap/cni/
RUN mkdir -p /var/lib/kubestrap/cni && ln -s /usr/lib/kubestrap/store/var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz && mkdir -p /opt/cni/bin && tar -xzf /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz -C /opt/cni/bin --no-same-owner ./bandwidth ./bridge ./firewall ./host-local ./loopback ./portmap ./tuning && chmod 0644 /var/lib/kubestrap/cni/cni-plugins-linux-amd64-v1.9.1.tgz
ENV container=docker
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
KUBESTRAP_EOF
podman --url unix:///run/engine.sock build --tag kubestrap-node:v1.31.4-79fa6a075627 --label io.kubestrap.created-by=kubestrap --label io.kubestrap.kubernetes-version=v1.31.4 $KUBESTRAP_HOME/cache/downloads/node-image-79fa6a075627

# ── cluster.cp-node (provision-node): change
# checked: podman --url unix:///run/engine.sock container inspect demo
# checked: podman --url unix:///run/engine.sock container inspect demo
# checked: timeout 10 podman --url unix:///run/engine.sock info --format '{{json .}}'
# checked: cat /proc/self/status
# checked: cat /proc/sys/kernel/cap_last_cap
# checked: podman --url unix:///run/engine.sock volume ls --filter label=io.kubestrap.created-by=kubestrap --filter label=io.kubestrap.profile=demo --format '{{.Name}}'
podman --url unix:///run/engine.sock volume create --label io.kubestrap.created-by=kubestrap --label io.kubestrap.profile=demo --label io.kubestrap.role=control-plane demo
podman --url unix:///run/engine.sock run -d --name demo --hostname demo --label io.kubestrap.created-by=kubestrap --label io.kubestrap.profile=demo --label io.kubestrap.role=control-plane --label io.kubestrap.runtime=docker --privileged --security-opt seccomp=unconfined --cgroupns private --tmpfs /run --tmpfs /tmp --volume /lib/modules:/lib/modules:ro --volume demo:/var:exec --network demo --ip 192.168.49.2 --env container=podman --stop-signal SIGRTMIN+3 --publish 127.0.0.1::8443/tcp kubestrap-node:v1.31.4-79fa6a075627 /sbin/init
podman --url unix:///run/engine.sock exec demo sh -c 'until s=$(systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]; do sleep 0.2; done; echo "$s"'

# ── cluster.cp.preflight (preflight on docker:demo): already done, nothing to do
# warn: Kubernetes v1.31 no longer gets fixes upstream (supported: v1.37, v1.36, v1.35) — use --kubernetes-version v1.37.1 or stable
# info: docker:demo does not exist yet (step cluster.cp-node creates it): sudo, systemd, ports, swap, CPU and memory are checked on it in the run
# opens 0.0.0.0:8443/tcp (kube-apiserver)
# opens 0.0.0.0:10250/tcp (kubelet)
# opens 127.0.0.1:10248/tcp (kubelet (healthz))
# opens 127.0.0.1:10259/tcp (kube-scheduler)
# opens 127.0.0.1:10257/tcp (kube-controller-manager)
# opens 127.0.0.1:2379/tcp (etcd (clients))
# opens <output of the address of the machine step cluster.cp-node creates>:2379/tcp (etcd (clients))
# opens <output of the address of the machine step cluster.cp-node creates>:2380/tcp (etcd (peers))
# opens 127.0.0.1:2381/tcp (etcd (metrics))
# opens 127.0.0.1:10249/tcp (kube-proxy (metrics))
# opens 0.0.0.0:10256/tcp (kube-proxy (healthz))

# ── cluster.cp.claim (claim-node on docker:demo): change
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.prepare (prepare-node on docker:demo): change
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.cni (install-cni on docker:demo): change
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.runtime (install-runtime on docker:demo): change
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.kubernetes (install-kubernetes on docker:demo): change
# info: kubectl for this cluster: /var/lib/kubestrap/binaries/v1.31.4/kubectl (kubestrap does not put it on PATH)
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.kubelet (configure-kubelet on docker:demo): change
# warn: /etc/resolv.conf does not exist: pods will have no DNS upstream — configure a resolver on this machine first
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.control-plane-name (control-plane-name on docker:demo): change
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.kubeadm-config (kubeadm-config on docker:demo): change
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.init (kubeadm-init on docker:demo): change
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.pod-network (apply-cni on docker:demo): already done, nothing to do

# ── cluster.cp.kubeconfig (user-kubeconfig on docker:demo): change
# info: the kubeconfig is /root/.kube/config on docker:demo: copy it here (e.g. with scp) to use kubectl from this machine
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.cp.wait (wait-apiserver on docker:demo): change
withheld 'docker:demo is created by step cluster.cp-node: its steps run through kubestrap apply'

# ── cluster.kubeconfig (container-kubeconfig): change
# info: kubectl --context demo reaches the cluster at https://127.0.0.1:<output of cluster.cp-node: the published API server port>
# checked: podman --url unix:///run/engine.sock container inspect demo
withheld 'the content of /home/alice/.kube/config is a secret'

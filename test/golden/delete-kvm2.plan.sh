#!/usr/bin/env bash
# Values are single-quoted on purpose (nothing in them may expand); files put from the download
# cache are read as you, then written as root.
# shellcheck disable=SC1003,SC2016,SC2024,SC2034
# kubestrap plan: recipe delete-kvm2, profile kubestrap
# sha256:<digest>
# The commands a run performs, in order. `kubestrap apply` also checks nothing drifted first.
set -euo pipefail

# Writes stdin to $1 atomically (mode $2, owner $3), first copying the original to $4.
WRITE_FILE='set -eu
dir=$(dirname -- "$1")
mkdir -p -- "$dir"
if [ -n "$4" ] && [ -e "$1" ] && [ ! -e "$4" ]; then mkdir -p -- "$(dirname -- "$4")"; cp -p -- "$1" "$4"; fi
tmp=$(mktemp "$dir/.kubestrap.XXXXXX")
trap '\''rm -f -- "$tmp"'\'' EXIT
cat > "$tmp"
chmod "$2" "$tmp"
if [ -n "$3" ]; then chown "$3" "$tmp"; fi
mv -f -- "$tmp" "$1"
trap - EXIT'
# Quotes one word for a remote POSIX shell (remote writes send WRITE_FILE this way).
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
# Stops where the script cannot do what a run does (a secret, or an earlier command's output).
withheld() { echo "kubestrap: $1; use kubestrap apply" >&2; exit 1; }

# ── vm (delete-vm): already done, nothing to do
# info: no domain 'kubestrap' on qemu:///system
# info: the VM image stays in the download cache for the next start
# checked: virsh -c qemu:///system domstate kubestrap
# checked: virsh -c qemu:///system net-info mk-kubestrap

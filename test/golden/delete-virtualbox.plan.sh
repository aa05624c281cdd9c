#!/usr/bin/env bash
# Values are single-quoted on purpose (nothing in them may expand); files put from the download
# cache are read as you, then written as root.
# shellcheck disable=SC1003,SC2016,SC2024,SC2034
# kubestrap plan: recipe delete-virtualbox, profile kubestrap
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

# ── vm (delete-virtualbox-vm): change
# info: VBoxManage does not know a VM 'kubestrap' (or is not installed): the plan shows what delete does when it exists
# checked: VBoxManage showvminfo kubestrap --machinereadable
VBoxManage controlvm kubestrap poweroff
VBoxManage unregistervm kubestrap --delete

#!/usr/bin/env bash
# Values are single-quoted on purpose (nothing in them may expand); files put from the download
# cache are read as you, then written as root.
# shellcheck disable=SC1003,SC2016,SC2024,SC2034
# kubestrap plan: recipe delete-virtualbox, profile kubestrap
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

# ── vm (delete-virtualbox-vm): change
# info: VBoxManage does not know a VM 'kubestrap' (or is not installed): the plan shows what delete does when it exists
# checked: sh -c 'for f in "$1"/*; do [ -e "$f" ] && printf "%s\n" "${f##*/}"; done; exit 0' sh $KUBESTRAP_HOME/profiles/kubestrap
# checked: VBoxManage showvminfo kubestrap --machinereadable
VBoxManage controlvm kubestrap poweroff
VBoxManage unregistervm kubestrap --delete

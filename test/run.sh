#!/usr/bin/env bash
# Runs every test file under Node (through tsx) and then under Deno.
# Usage: test/run.sh [node|deno] [FILES...]
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
which=${1:-all}
[ $# -gt 0 ] && shift
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(test/**/*.test.ts)
status=0
if [ "$which" = all ] || [ "$which" = node ]; then
  echo "== node $(node --version) =="
  node --import tsx --test --test-concurrency=1 "${files[@]}" || status=$?
fi
if [ "$which" = all ] || [ "$which" = deno ]; then
  deno=node_modules/.bin/deno
  echo "== deno $($deno --version | head -1) =="
  "$deno" test -A --quiet --no-check "${files[@]}" || status=$?
fi
exit $status

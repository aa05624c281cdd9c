#!/usr/bin/env bash
# Runs every test file under Node (through tsx) and under Deno, plus both type checks; exits non-zero
# if any stage failed, after running all of them, and names the stages that failed.
# Usage: test/run.sh [all|node|deno|check] [FILES...]
set -uo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
which=${1:-all}
[ $# -gt 0 ] && shift
case $which in all|node|deno|check) ;; *) echo "usage: test/run.sh [all|node|deno|check] [FILES...]" >&2; exit 2 ;; esac
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(test/**/*.test.ts)
# Deno comes from the npm registry. It is not in package-lock.json: the registry holds its binary
# package for this platform only, and npm ci refuses a lock file that lacks the other platforms'.
DENO_VERSION=2.9.6
deno=node_modules/.bin/deno
if [ ! -x "$deno" ]; then
  echo "installing deno $DENO_VERSION (npm install --no-save deno@$DENO_VERSION)"
  npm install --no-save --no-audit --no-fund "deno@$DENO_VERSION" >/dev/null || { echo "could not install deno" >&2; exit 2; }
fi
failed=()

# stage NAME COMMAND...: runs one stage, records it if it fails, and says how long it took.
stage() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name =="
  if ! "$@"; then failed+=("$name"); fi
  echo "== $name: $((SECONDS - start)) s"
}

if [ "$which" = all ] || [ "$which" = check ]; then
  stage "tsc" node_modules/.bin/tsc -p tsconfig.json
  stage "deno check" "$deno" check --quiet cli.ts
  stage "deno lint" "$deno" lint --quiet
  stage "deno fmt" "$deno" fmt --check --quiet
fi
if [ "$which" = all ] || [ "$which" = node ]; then
  stage "node $(node --version)" node --import tsx --test --test-concurrency=1 "${files[@]}"
fi
if [ "$which" = all ] || [ "$which" = deno ]; then
  stage "deno $("$deno" --version | head -1 | cut -d' ' -f2)" "$deno" test -A --quiet --no-check "${files[@]}"
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "all passed"

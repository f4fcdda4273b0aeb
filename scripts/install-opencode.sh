#!/usr/bin/env bash
# Makes the pinned OpenCode available: reuses `opencode` on PATH when it is exactly that
# version, else installs npm `opencode-ai@<version>` into the runner's tool cache.
# Usage: install-opencode.sh <version>. Prints `path=<opencode>` (also to $GITHUB_OUTPUT).
set -euo pipefail

version="${1:?usage: install-opencode.sh <version>}"
[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || { echo "error: input \`opencode-version\` is not a version: \`$version\`" >&2; exit 1; }

output() {
  printf 'path=%s\n' "$1"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf 'path=%s\n' "$1" >>"$GITHUB_OUTPUT"; fi
}

if found="$(command -v opencode 2>/dev/null)"; then
  have="$("$found" --version 2>/dev/null | tail -n 1 | tr -d '[:space:]' || true)"
  if [ "$have" = "$version" ]; then
    echo "using opencode $version at $found" >&2
    output "$found"
    exit 0
  fi
  echo "opencode on PATH is \`$have\`, not $version: installing $version" >&2
fi

prefix="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tool-cache}/opencode-ai/$version"
bin="$prefix/node_modules/.bin/opencode"
if [ ! -x "$bin" ]; then
  command -v npm >/dev/null 2>&1 || { echo "error: \`npm\` is needed to install OpenCode; add actions/setup-node before this step" >&2; exit 1; }
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "opencode-ai@$version" >&2
fi
have="$("$bin" --version 2>/dev/null | tail -n 1 | tr -d '[:space:]' || true)"
[ "$have" = "$version" ] || { echo "error: installed opencode reports \`$have\`, expected $version" >&2; exit 1; }
echo "using opencode $version at $bin" >&2
output "$bin"

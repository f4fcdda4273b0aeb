#!/usr/bin/env bash
# Makes the pinned Codex CLI available: reuses `codex` on PATH when it is exactly that version,
# else installs npm `@openai/codex@<version>` (with only this machine's platform package, npm
# skips the others) into the runner's tool cache.
# Usage: install-codex.sh <version>. Prints `path=<codex>` (also to $GITHUB_OUTPUT).
set -euo pipefail

version="${1:?usage: install-codex.sh <version>}"
[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || { echo "error: input \`codex-version\` is not a version: \`$version\`" >&2; exit 1; }

# `codex --version` prints `codex-cli <version>`.
version_of() { "$1" --version 2>/dev/null | tail -n 1 | awk '{print $NF}' | tr -d '[:space:]' || true; }

output() {
  printf 'path=%s\n' "$1"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf 'path=%s\n' "$1" >>"$GITHUB_OUTPUT"; fi
}

if found="$(command -v codex 2>/dev/null)"; then
  have="$(version_of "$found")"
  if [ "$have" = "$version" ]; then
    echo "using codex $version at $found" >&2
    output "$found"
    exit 0
  fi
  echo "codex on PATH is \`$have\`, not $version: installing $version" >&2
fi

prefix="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tool-cache}/openai-codex/$version"
bin="$prefix/node_modules/.bin/codex"
if [ ! -x "$bin" ]; then
  command -v npm >/dev/null 2>&1 || { echo "error: \`npm\` is needed to install Codex; add actions/setup-node before this step" >&2; exit 1; }
  # No install scripts: the platform binary comes as an optional dependency, not a download.
  npm install --prefix "$prefix" --no-audit --no-fund --ignore-scripts --loglevel=error "@openai/codex@$version" >&2
fi
have="$(version_of "$bin")"
[ "$have" = "$version" ] || { echo "error: installed codex reports \`$have\`, expected $version" >&2; exit 1; }
echo "using codex $version at $bin" >&2
output "$bin"

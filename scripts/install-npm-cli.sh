#!/usr/bin/env bash
# Makes a pinned npm-distributed agent CLI available: reuses `<cli>` on PATH when it reports
# exactly that version, else installs `<package>@<version>` into the runner's tool cache.
# Usage: install-npm-cli.sh <cli> <name> <package> <cache-dir> <input> <version> [npm flags…]
# (`<name>` for messages, `<input>` the action input holding the version). Prints
# `path=<binary>` (also to $GITHUB_OUTPUT). The installers (install-opencode.sh,
# install-codex.sh) call it with their CLI's values.
set -euo pipefail

cli="${1:?usage: install-npm-cli.sh <cli> <name> <package> <cache-dir> <input> <version> [npm flags...]}"
name="$2" package="$3" cache="$4" input="$5" version="${6:-}"
shift 6
[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || { echo "error: input \`$input\` is not a version: \`$version\`" >&2; exit 1; }

# The last word of the last line: `1.18.33` (opencode), `codex-cli 0.169.0` (codex).
version_of() { "$1" --version 2>/dev/null | tail -n 1 | awk '{print $NF}' | tr -d '[:space:]' || true; }

output() {
  printf 'path=%s\n' "$1"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf 'path=%s\n' "$1" >>"$GITHUB_OUTPUT"; fi
}

if found="$(command -v "$cli" 2>/dev/null)"; then
  have="$(version_of "$found")"
  if [ "$have" = "$version" ]; then
    echo "using $cli $version at $found" >&2
    output "$found"
    exit 0
  fi
  echo "$cli on PATH is \`$have\`, not $version: installing $version" >&2
fi

prefix="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tool-cache}/$cache/$version"
bin="$prefix/node_modules/.bin/$cli"
if [ ! -x "$bin" ]; then
  command -v npm >/dev/null 2>&1 || { echo "error: \`npm\` is needed to install $name; add actions/setup-node before this step" >&2; exit 1; }
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "$@" "$package@$version" >&2
fi
have="$(version_of "$bin")"
[ "$have" = "$version" ] || { echo "error: installed $cli reports \`$have\`, expected $version" >&2; exit 1; }
echo "using $cli $version at $bin" >&2
output "$bin"

#!/usr/bin/env bash
# Makes the pinned OpenCode available: reuses `opencode` on PATH when it is exactly that
# version, else installs npm `opencode-ai@<version>` into the runner's tool cache.
# Usage: install-opencode.sh <version>. Prints `path=<opencode>` (also to $GITHUB_OUTPUT).
set -euo pipefail
exec bash -p "$(dirname "$0")/install-npm-cli.sh" opencode OpenCode opencode-ai opencode-ai opencode-version "${1:-}"

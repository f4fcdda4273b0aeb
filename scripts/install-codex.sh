#!/usr/bin/env bash
# Makes the pinned Codex CLI available (`codex` on PATH at that version, else npm
# `@openai/codex@<version>` into the tool cache: npm installs only this platform's binary
# package, and no install scripts run). Usage: install-codex.sh <version>. Prints `path=<codex>`.
set -euo pipefail
exec bash -p "$(dirname "$0")/install-npm-cli.sh" codex Codex @openai/codex openai-codex codex-version "${1:-}" --ignore-scripts

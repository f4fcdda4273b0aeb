#!/usr/bin/env bash
# The source fallback: builds the binary from the action's own checkout (the commit the user
# pinned, so it needs no checksum) with the committed Cargo.lock.
# Prints `path=<binary>` (also to $GITHUB_OUTPUT when set).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v cargo >/dev/null 2>&1; then
  echo "error: no prebuilt binary for this runner and \`cargo\` is not installed;" \
    "install Rust (https://rustup.rs) before this step, or run on Linux x64/ARM64" >&2
  exit 1
fi
# Build outside the action's checkout, which may be shared by several jobs on one runner.
target_dir="${SISYPHUS_TARGET_DIR:-${RUNNER_TEMP:-$root}/sisyphus-action-target}"
echo "building sisyphus-action from source in $root (a few minutes)" >&2
cargo build --release --locked --manifest-path "$root/Cargo.toml" --target-dir "$target_dir" >&2
bin="$target_dir/release/sisyphus-action"
[ -x "$bin" ] || { echo "error: cargo did not produce \`$bin\`" >&2; exit 1; }
printf 'path=%s\n' "$bin"
if [ -n "${GITHUB_OUTPUT:-}" ]; then printf 'path=%s\n' "$bin" >>"$GITHUB_OUTPUT"; fi

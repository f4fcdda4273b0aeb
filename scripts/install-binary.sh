#!/usr/bin/env bash
# Installs the prebuilt sisyphus-action binary for this runner, or says why it cannot.
#
# Trust model: the only checksums believed are the ones committed next to this script in
# dist/checksums.txt: the archive's sha256 and the sha256 of the binary inside it. A user who
# pins `uses: owner/sisyphus-action@<sha>` therefore pins the binary too; a release asset that
# does not match is refused and never executed. Nothing in the tool cache is believed: on a
# self-hosted runner it outlives the job, and an earlier job's agent could have replaced any
# file there (binary and marker alike), so a cached binary is reused only when its own hash
# equals the committed one, checked on every run.
#
# Outcome (also written to $GITHUB_OUTPUT when set):
#   path=<binary>       installed (source=cache: reused from the tool cache, no download;
#                       source=download: fetched and verified); the path is a private copy
#                       under RUNNER_TEMP, verified again, not the tool cache's file
#   fallback=<reason>   no usable prebuilt binary: the caller builds from source (exit 0)
#   exit 1              refused (checksum mismatch, broken archive) or a usage error
#
# Environment (all optional):
#   RUNNER_OS, RUNNER_ARCH          platform (default: uname)
#   RUNNER_TOOL_CACHE               cache root (default: $RUNNER_TEMP/tool-cache, else a temp dir)
#   SISYPHUS_BUILD_FROM_SOURCE      `true` skips the prebuilt binary
#   SISYPHUS_VERSION                release version (default: Cargo.toml's package version)
#   SISYPHUS_CHECKSUMS              checksum file (default: dist/checksums.txt beside this script)
#   SISYPHUS_REPOSITORY             owner/name hosting the release (default: the checksum file's
#                                   `# repository:` line)
#   SISYPHUS_RELEASE_BASE_URL       where assets live (default:
#                                   $GITHUB_SERVER_URL/<repository>/releases/download/v<version>)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="sisyphus-action"

say() { printf '%s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
output() {
  printf '%s=%s\n' "$1" "$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"; fi
}
fallback() {
  say "no prebuilt binary: $1; building from source instead"
  output fallback "$1"
  exit 0
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "neither \`sha256sum\` nor \`shasum\` is installed: cannot verify the download"
  fi
}

# The binary the run step executes: a private copy (0700 directory under RUNNER_TEMP, which
# the runner empties after the job) of `$1`, re-hashed against `$2`. The run step starts
# minutes later, after OpenCode's install; the copy closes that window on the shared tool
# cache, and what was hashed is what runs.
emit_private_copy() {
  local private
  private="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/$name-run.XXXXXX")"
  cp "$1" "$private/$name"
  chmod 0500 "$private/$name"
  [ "$(sha256_of "$private/$name")" = "$2" ] || die "\`$1\` changed while it was being copied; refusing to run it"
  output path "$private/$name"
}

# --- which binary -------------------------------------------------------------------------
os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
case "$os/$arch" in
  Linux/X64 | Linux/x86_64) triple="x86_64-unknown-linux-musl" ;;
  Linux/ARM64 | Linux/aarch64 | Linux/arm64) triple="aarch64-unknown-linux-musl" ;;
  *) triple="" ;;
esac

case "${SISYPHUS_BUILD_FROM_SOURCE:-false}" in
  true | TRUE | True | 1 | yes | on) fallback "build-from-source is true" ;;
  false | FALSE | False | 0 | no | off | "") ;;
  *) die "input \`build-from-source\` must be true or false, got \`$SISYPHUS_BUILD_FROM_SOURCE\`" ;;
esac
[ -n "$triple" ] || fallback "no prebuilt binary for $os/$arch"

version="${SISYPHUS_VERSION:-}"
if [ -z "$version" ]; then
  # The first `version = "…"` in Cargo.toml is the package's (it comes right after `name`).
  version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$root/Cargo.toml" | head -n 1)"
fi
[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || die "cannot tell the action's version (got \`$version\`)"

asset="$name-$version-$triple.tar.gz"
checksums="${SISYPHUS_CHECKSUMS:-$root/dist/checksums.txt}"
[ -f "$checksums" ] || fallback "checksum file \`$checksums\` is missing"
committed() { awk -v a="$1" '$2 == a || $2 == "*" a { print $1; exit }' "$checksums"; }
expected="$(committed "$asset")"
[ -n "$expected" ] || fallback "no committed checksum for \`$asset\`"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || die "committed checksum for \`$asset\` is not a sha256: \`$expected\`"
# The binary's own hash, listed as `<asset without .tar.gz>/sisyphus-action`. A checksum file
# written before it was recorded has none: then no cached binary is trusted.
bin_entry="${asset%.tar.gz}/$name"
expected_bin="$(committed "$bin_entry")"
if [ -n "$expected_bin" ] && ! [[ "$expected_bin" =~ ^[0-9a-f]{64}$ ]]; then
  die "committed checksum for \`$bin_entry\` is not a sha256: \`$expected_bin\`"
fi

# --- the tool cache: reuse a verified install ---------------------------------------------
cache_root="${RUNNER_TOOL_CACHE:-}"
if [ -z "$cache_root" ]; then
  cache_root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/tool-cache"
fi
dir="$cache_root/$name/$version/$triple"
bin="$dir/$name"
# Written by earlier versions of this script; nothing reads it any more.
marker="$dir.complete"
if [ -f "$bin" ] && [ ! -L "$bin" ] && [ -x "$bin" ]; then
  if [ -n "$expected_bin" ] && [ "$(sha256_of "$bin")" = "$expected_bin" ]; then
    say "using the cached $name $version ($triple) from $dir (sha256 as committed)"
    output source cache
    emit_private_copy "$bin" "$expected_bin"
    exit 0
  fi
  if [ -n "$expected_bin" ]; then
    say "warning: the cached $name in $dir does not match the committed checksum; downloading again"
  else
    say "no committed checksum for the binary itself, so the cached $name is not trusted; downloading again"
  fi
fi

# --- download -------------------------------------------------------------------------------
if [ -n "${SISYPHUS_RELEASE_BASE_URL:-}" ]; then
  base="${SISYPHUS_RELEASE_BASE_URL%/}"
else
  repo="${SISYPHUS_REPOSITORY:-$(sed -n 's/^# repository: *\([^ ]*\).*/\1/p' "$checksums" | head -n 1)}"
  [[ "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || fallback "the release repository is unknown"
  base="${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download/v$version"
fi
command -v curl >/dev/null 2>&1 || fallback "\`curl\` is not installed"

# HTTPS only, also across redirects (release assets redirect to a CDN). Plain HTTP is allowed
# for loopback only, which is where the tests serve a stand-in release host.
proto="=https"
case "$base" in http://127.0.0.1:* | http://localhost:* | http://\[::1\]:*) proto="=https,http" ;; esac

work="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/$name-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT
url="$base/$asset"
say "downloading $url"
status="$(curl --proto "$proto" --proto-redir "$proto" --tlsv1.2 --location --silent --show-error \
  --retry 5 --retry-delay 2 --connect-timeout 20 --max-time 300 \
  --output "$work/$asset" --write-out '%{http_code}' "$url")" || status="${status:-000}"
case "$status" in
  200) ;;
  404) fallback "release asset \`$asset\` not found (HTTP 404)" ;;
  *) fallback "downloading \`$url\` failed (HTTP $status)" ;;
esac

actual="$(sha256_of "$work/$asset")"
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for \`$asset\`: expected $expected (committed in dist/checksums.txt), got $actual; refusing to install or run it"
fi

mkdir -p "$work/x"
tar -xzf "$work/$asset" -C "$work/x" --no-same-owner "$name" || die "release asset \`$asset\` has no \`$name\` binary"
if [ ! -f "$work/x/$name" ] || [ -L "$work/x/$name" ]; then
  die "\`$name\` in \`$asset\` is not a regular file"
fi
chmod 0755 "$work/x/$name"
actual_bin="$(sha256_of "$work/x/$name")"
if [ -n "$expected_bin" ] && [ "$actual_bin" != "$expected_bin" ]; then
  die "checksum mismatch for \`$bin_entry\`: expected $expected_bin (committed in dist/checksums.txt), got $actual_bin; refusing to install or run it"
fi

# Move into place atomically, so a concurrent job never sees a half-written binary.
mkdir -p "$(dirname "$dir")"
stage="$(mktemp -d "$dir.tmp.XXXXXX")"
mv "$work/x/$name" "$stage/$name"
rm -rf "$dir" "$marker"
mv "$stage" "$dir"
say "installed $name $version ($triple) into $dir"
output source download
emit_private_copy "$bin" "$actual_bin"

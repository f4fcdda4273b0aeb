#!/usr/bin/env bash
# Rewrites dist/checksums.txt for one release from the archives and their `.sha256` files the
# release workflow produced. Usage: update-checksums.sh <version> <owner/name> <dir>
# Each archive gets two lines: its own sha256, and the sha256 of the binary inside it (as
# `<archive without .tar.gz>/sisyphus-action`), which install-binary.sh checks a cached binary
# against on every run. Only this version's archives are listed: older pins keep the checksum
# file of their own commit.
set -euo pipefail

version="${1:?usage: update-checksums.sh <version> <owner/name> <dir>}"
repo="${2:?usage: update-checksums.sh <version> <owner/name> <dir>}"
dir="${3:?usage: update-checksums.sh <version> <owner/name> <dir>}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${SISYPHUS_CHECKSUMS:-$root/dist/checksums.txt}"

[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || { echo "error: bad version \`$version\`" >&2; exit 1; }
[[ "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || { echo "error: bad repository \`$repo\`" >&2; exit 1; }

sha256_of() { sha256sum | cut -d' ' -f1; }

lines=""
for f in "$dir"/*.tar.gz.sha256; do
  [ -e "$f" ] || { echo "error: no .sha256 files in \`$dir\`" >&2; exit 1; }
  read -r hash file rest <"$f" || true
  file="${file#\*}"
  if ! [[ "$hash" =~ ^[0-9a-f]{64}$ ]] || [ -n "${rest:-}" ] ||
    ! [[ "$file" =~ ^sisyphus-action-${version//./\\.}-[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+\.tar\.gz$ ]]; then
    echo "error: \`$f\` is not a sha256 line for a sisyphus-action $version archive" >&2
    exit 1
  fi
  archive="$dir/$file"
  [ -f "$archive" ] || { echo "error: \`$archive\` is missing: the binary's hash is read from it" >&2; exit 1; }
  [ "$(sha256_of <"$archive")" = "$hash" ] || { echo "error: \`$archive\` does not match \`$f\`" >&2; exit 1; }
  bin_hash="$(tar -xzOf "$archive" sisyphus-action | sha256_of)" ||
    { echo "error: \`$archive\` has no \`sisyphus-action\` binary" >&2; exit 1; }
  lines+="$hash  $file"$'\n'"$bin_hash  ${file%.tar.gz}/sisyphus-action"$'\n'
done

{
  echo "# sha256 of every released sisyphus-action archive and of the binary inside it, in"
  echo "# \`sha256sum\` format. Written by .github/workflows/release.yml; read by"
  echo "# scripts/install-binary.sh, which trusts nothing else: pinning the action by commit"
  echo "# therefore pins the binary."
  echo "# repository: $repo"
  printf '%s' "$lines" | sort -k2
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $(printf '%s' "$lines" | wc -l) checksum(s) for $version to $out" >&2

#!/usr/bin/env bash
# Rewrites dist/checksums.txt for one release from the `.sha256` files the release workflow
# produced. Usage: update-checksums.sh <version> <owner/name> <dir with *.sha256>
# Only this version's archives are listed: older pins keep the checksum file of their own commit.
set -euo pipefail

version="${1:?usage: update-checksums.sh <version> <owner/name> <dir>}"
repo="${2:?usage: update-checksums.sh <version> <owner/name> <dir>}"
dir="${3:?usage: update-checksums.sh <version> <owner/name> <dir>}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${SISYPHUS_CHECKSUMS:-$root/dist/checksums.txt}"

[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || { echo "error: bad version \`$version\`" >&2; exit 1; }
[[ "$repo" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || { echo "error: bad repository \`$repo\`" >&2; exit 1; }

lines=""
for f in "$dir"/*.sha256; do
  [ -e "$f" ] || { echo "error: no .sha256 files in \`$dir\`" >&2; exit 1; }
  read -r hash file rest <"$f" || true
  file="${file#\*}"
  if ! [[ "$hash" =~ ^[0-9a-f]{64}$ ]] || [ -n "${rest:-}" ] ||
    ! [[ "$file" =~ ^sisyphus-action-${version//./\\.}-[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+\.tar\.gz$ ]]; then
    echo "error: \`$f\` is not a sha256 line for a sisyphus-action $version archive" >&2
    exit 1
  fi
  lines+="$hash  $file"$'\n'
done

{
  echo "# sha256 of every released sisyphus-action archive, in \`sha256sum\` format. Written by"
  echo "# .github/workflows/release.yml; read by scripts/install-binary.sh, which trusts nothing else:"
  echo "# pinning the action by commit therefore pins the binary."
  echo "# repository: $repo"
  printf '%s' "$lines" | sort -k2
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $(printf '%s' "$lines" | wc -l) checksum(s) for $version to $out" >&2

#!/usr/bin/env bash
# Prints the Debian archive URL this host's apt uses (the first "debian"
# archive in its sources, deb822 or one-line style), so image recipes and
# guests use the mirror the machine can reach instead of a hard-coded host.
# DEBIAN_MIRROR overrides it.
set -euo pipefail
if [ -n "${DEBIAN_MIRROR:-}" ]; then
  echo "$DEBIAN_MIRROR"
  exit 0
fi
shopt -s nullglob
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -r "$f" ] || continue
  url=$(awk '
    /^[[:space:]]*#/ { next }
    /^URIs:/ { for (i = 2; i <= NF; i++) print $i; next }
    /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }
  ' "$f" | grep -v -- '-security' | grep -m1 '/debian/*$' || true)
  if [ -n "$url" ]; then
    echo "${url%/}"
    exit 0
  fi
done
echo "debian-mirror: no Debian archive found in /etc/apt sources; set DEBIAN_MIRROR" >&2
exit 1

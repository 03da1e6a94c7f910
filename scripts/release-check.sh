#!/usr/bin/env bash
# Verifies the release layout locally: `goreleaser check`, a snapshot
# release for linux/amd64 from a temporary clone tagged with the current
# version, then the zip's name and content, and `packer plugins install
# --path` of the binary inside it, whose describe must carry no prerelease.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.tools/bin:$PATH"
version=$(sed -n 's/^\s*Version\s*=\s*"\(.*\)"/\1/p' version/version.go)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

goreleaser check

git clone -q "$root" "$work/src"
cd "$work/src"
git -c user.name=release-check -c user.email=release-check@localhost tag -a "v$version" -m "release check"
export API_VERSION=$(go run . describe | sed -n 's/.*"api_version":"\([^"]*\)".*/\1/p')
goreleaser release --snapshot --clean >/dev/null

zip="dist/packer-plugin-kvm_v${version}_${API_VERSION}_linux_amd64.zip"
sums="dist/packer-plugin-kvm_v${version}_SHA256SUMS"
[ -f "$zip" ] || { echo "release-check: $zip missing; dist holds: $(ls dist)"; exit 1; }
[ -f "$sums" ] || { echo "release-check: $sums missing"; exit 1; }
grep -q "  $(basename "$zip")\$" "$sums" || { echo "release-check: $sums does not list the zip"; exit 1; }
(cd dist && sha256sum -c --ignore-missing "$(basename "$sums")")
content=$(python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$zip")
want=$(basename "$zip" .zip)
[ "$content" = "$want" ] || { echo "release-check: zip holds '$content', want '$want'"; exit 1; }

mkdir "$work/unzip" "$work/plugins"
python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$work/unzip"
chmod +x "$work/unzip/$want"
describe=$("$work/unzip/$want" describe)
echo "describe: $describe"
echo "$describe" | grep -q "\"version\":\"$version\"" || { echo "release-check: the released binary reports a prerelease"; exit 1; }
PACKER_PLUGIN_PATH="$work/plugins" packer plugins install --path "$work/unzip/$want" github.com/kvmforge/kvm
PACKER_PLUGIN_PATH="$work/plugins" packer plugins installed | grep -q "packer-plugin-kvm_v${version}_${API_VERSION}_linux_amd64" \
  || { echo "release-check: packer does not list the installed plugin"; exit 1; }
echo "release-check: OK ($(basename "$zip"))"

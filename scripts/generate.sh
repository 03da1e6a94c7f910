#!/usr/bin/env bash
# Regenerates everything derived from the code: *.hcl2spec.go, docs-partials/
# (from Config field comments), the rendered docs and .web-docs/.
#
# packer-sdc struct-markdown finds the project root by looking for an
# ancestor directory named packer-plugin-*. A clone may be named anything,
# so generation runs through a symlink with that name.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
link_parent=$(mktemp -d)
trap 'rm -rf "$link_parent"' EXIT
ln -s "$root" "$link_parent/packer-plugin-kvm"
cd "$link_parent/packer-plugin-kvm"
export PATH="$root/.tools/bin:$PATH"

rm -rf docs-partials
go generate ./builder/... ./provisioner/... ./post-processor/... ./datasource/...

rendered=$(mktemp -d)
trap 'rm -rf "$link_parent" "$rendered"' EXIT
packer-sdc renderdocs -src docs -partials docs-partials -dst "$rendered"
.web-docs/scripts/compile-to-webdocs.sh . "$rendered" .web-docs kvmforge

#!/usr/bin/env bash
# Lays rendered docs out as the Packer integrations site reads them:
# .web-docs/README.md and .web-docs/components/<type>/<name>/README.md.
# The site shows its own title, so each page's YAML front matter and H1
# are dropped.
set -euo pipefail
src=$1 dst=$2
rm -rf "$dst/components" "$dst/README.md"
mkdir -p "$dst/components"

strip() {
  awk '
    NR == 1 && /^---[[:space:]]*$/ { infm = 1; next }
    infm { if (/^---[[:space:]]*$/) infm = 0; next }
    !h1 && /^# / { h1 = 1; skipblank = 1; next }
    !started && /^[[:space:]]*$/ { next }
    { started = 1 }
    skipblank && /^[[:space:]]*$/ { next }
    { skipblank = 0; print }
  ' "$1"
}

strip "$src/README.md" > "$dst/README.md"
for type_dir in "$src"/*/; do
  type=$(basename "$type_dir")
  case $type in
    builders) kind=builder ;; provisioners) kind=provisioner ;;
    post-processors) kind=post-processor ;; datasources) kind=data-source ;;
    *) continue ;;
  esac
  for page in "$type_dir"*.mdx; do
    name=$(basename "$page" .mdx)
    mkdir -p "$dst/components/$kind/$name"
    strip "$page" > "$dst/components/$kind/$name/README.md"
  done
done

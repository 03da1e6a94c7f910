#!/usr/bin/env bash
# Compiles the docs packer-sdc rendered into the layout the Packer
# integrations portal reads: <web-docs>/README.md and
# <web-docs>/components/<type>/<slug>/README.md, next to metadata.hcl.
#
# Usage: compile-to-webdocs.sh PLUGIN_DIR RENDERED_DOCS_DIR WEB_DOCS_DIR ORG
# (the arguments packer-plugin-scaffolding's script takes; relative
# directories are taken from PLUGIN_DIR). scripts/generate.sh runs it.
#
# The portal prints each page's title itself, so the YAML front matter and
# the first H1 are dropped. Links in the old /packer/plugins/... form are
# rewritten to their /packer/integrations/ORG/... pages.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 PLUGIN_DIR RENDERED_DOCS_DIR WEB_DOCS_DIR ORG" >&2; exit 2; }
plugin_dir=$1 org=$4
under_plugin() { case $1 in /*) echo "$1" ;; *) echo "$plugin_dir/$1" ;; esac; }
src=$(under_plugin "$2")
dst=$(under_plugin "$3")

# The portal's component type for a packer-sdc docs folder.
component_type() {
  case $1 in
    builders) echo builder ;;
    provisioners) echo provisioner ;;
    post-processors) echo post-processor ;;
    datasources) echo data-source ;;
    *) return 1 ;;
  esac
}

strip_title() {
  awk '
    NR == 1 && /^---[[:space:]]*$/ { infm = 1; next }
    infm { if (/^---[[:space:]]*$/) infm = 0; next }
    !h1 && /^# / { h1 = 1; skipblank = 1; next }
    !started && /^[[:space:]]*$/ { next }
    { started = 1 }
    skipblank && /^[[:space:]]*$/ { next }
    { skipblank = 0; print }
  '
}

# /packer/plugins/<type>/<plugin>[#a]        -> /packer/integrations/ORG/<plugin>[#a]
# /packer/plugins/<type>/<plugin>/<slug>[#a] -> /packer/integrations/ORG/<plugin>/latest/components/<type>/<slug>[#a]
rewrite_links() {
  local seg='([^/)#]+)' anchor='(#[^/)]+)?'
  sed -E \
    -e "s|\(/packer/plugins/$seg/$seg/$seg$anchor\)|(/packer/integrations/$org/\\2/latest/components/\\1/\\3\\4)|g" \
    -e "s|\(/packer/plugins/$seg/$seg$anchor\)|(/packer/integrations/$org/\\2\\3)|g" \
    -e 's|/components/builders/|/components/builder/|g' \
    -e 's|/components/provisioners/|/components/provisioner/|g' \
    -e 's|/components/post-processors/|/components/post-processor/|g' \
    -e 's|/components/datasources/|/components/data-source/|g'
}

compile_page() { strip_title < "$1" | rewrite_links; }

echo "Compiling the rendered docs in $src into $dst" >&2
rm -rf "$dst/components" "$dst/README.md"
mkdir -p "$dst/components"
compile_page "$src/README.md" > "$dst/README.md"
for type_dir in "$src"/*/; do
  folder=$(basename "$type_dir")
  type=$(component_type "$folder") || {
    echo "compile-to-webdocs: unexpected docs folder '$folder': components belong in builders, provisioners, post-processors or datasources" >&2
    exit 1
  }
  for page in "$type_dir"*.mdx; do
    [ -e "$page" ] || continue
    slug=$(basename "$page" .mdx)
    [ "$slug" != index ] || continue # the portal has no index pages
    mkdir -p "$dst/components/$type/$slug"
    compile_page "$page" > "$dst/components/$type/$slug/README.md"
  done
done

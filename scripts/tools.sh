#!/usr/bin/env bash
# Builds the pinned developer tools from the Go module proxy into .tools/bin.
# `go install mod@version` needs the proxy's version list, which is not
# always served; building from the pinned tools/ module needs only the
# exact versions, and is cached: a tool is rebuilt only when tools/go.sum
# changes (tools/release/go.sum for goreleaser).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/.tools/bin"
mkdir -p "$bin"

declare -A pkgs=(
  [packer]=github.com/hashicorp/packer
  [packer-sdc]=github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc
  [goreleaser]=github.com/goreleaser/goreleaser/v2
)
for tool in "${@:-packer packer-sdc}"; do
  for t in $tool; do
    pkg=${pkgs[$t]:?unknown tool $t}
    moddir=tools
    [ "$t" = goreleaser ] && moddir=tools/release
    stamp=$(cat "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-12)
    if [ -x "$bin/$t" ] && [ "$(cat "$bin/.$t.stamp" 2>/dev/null)" = "$stamp" ]; then
      continue
    fi
    echo "tools: building $t from $pkg (pinned in $moddir/go.mod)" >&2
    (cd "$moddir" && go build -o "$bin/$t" "$pkg")
    echo "$stamp" > "$bin/.$t.stamp"
  done
done

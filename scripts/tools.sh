#!/usr/bin/env bash
# Builds the pinned developer tools from the Go module proxy into .tools/bin.
# `go install mod@version` needs the proxy's version list, which is not
# always served; building from the pinned tools/ module needs only the
# exact versions, and is cached: a tool is rebuilt only when tools/go.sum
# changes (tools/release/go.sum for goreleaser, tools/vagrant/go.sum for
# packer-plugin-vagrant, which the acceptance tests chain after kvm-export,
# tools/actionlint/go.sum for actionlint, which `make lint` runs on the
# GitHub workflows, tools/lint/go.sum for staticcheck and goimports, which
# `make lint` runs on the code).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/.tools/bin"
mkdir -p "$bin"

declare -A pkgs=(
  [packer]=github.com/hashicorp/packer
  [packer-sdc]=github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc
  [goreleaser]=github.com/goreleaser/goreleaser/v2
  [packer-plugin-vagrant]=github.com/hashicorp/packer-plugin-vagrant
  [actionlint]=github.com/rhysd/actionlint/cmd/actionlint
  [staticcheck]=honnef.co/go/tools/cmd/staticcheck
  [goimports]=golang.org/x/tools/cmd/goimports
)
declare -A moddirs=([goreleaser]=tools/release [packer-plugin-vagrant]=tools/vagrant [actionlint]=tools/actionlint [staticcheck]=tools/lint [goimports]=tools/lint)
# A release build of the vagrant plugin: its releases clear the "dev" marker.
declare -A ldflags=([packer-plugin-vagrant]="-X github.com/hashicorp/packer-plugin-vagrant/version.VersionPrerelease=")
for tool in "${@:-packer packer-sdc}"; do
  for t in $tool; do
    pkg=${pkgs[$t]:?unknown tool $t}
    moddir=${moddirs[$t]:-tools}
    stamp=$(cat "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -c1-12)
    if [ -x "$bin/$t" ] && [ "$(cat "$bin/.$t.stamp" 2>/dev/null)" = "$stamp" ]; then
      continue
    fi
    echo "tools: building $t from $pkg (pinned in $moddir/go.mod)" >&2
    (cd "$moddir" && go build -ldflags="${ldflags[$t]:-}" -o "$bin/$t" "$pkg")
    echo "$stamp" > "$bin/.$t.stamp"
  done
done

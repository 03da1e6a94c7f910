#!/usr/bin/env bash
# Verifies the release layout locally, the way `packer init` and the Packer
# plugin-release guide expect it: `goreleaser check`, then a snapshot
# release from a temporary clone tagged with the current version, then
#  - one zip per OS/arch pair in .goreleaser.yml, named
#    packer-plugin-kvm_v{version}_{api}_{os}_{arch}.zip, holding exactly the
#    binary of the same name (plus .exe on Windows), built for that OS (ELF,
#    Mach-O or PE header);
#  - packer-plugin-kvm_v{version}_SHA256SUMS listing exactly those zips, with
#    matching sums;
#  - packer-plugin-kvm_v{version}_SHA256SUMS.sig, a detached signature that
#    gpg verifies. Signing runs for real, as in CI, with a throwaway key
#    generated in a temporary GNUPGHOME (no key of yours is touched);
#  - the linux/amd64 binary installs with `packer plugins install --path`
#    and its describe carries no prerelease;
#  - releases are published, not drafts.
#
# RELEASE_CHECK_GOOS="linux" (a space-separated list of OSes) builds and
# checks only those OSes. It exists because the plugin does not compile for
# every target yet (Linux-only process control); the check says loudly what
# it left out. Never set it in CI once every target builds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.tools/bin:$PATH"
version=$(sed -n 's/^\s*Version\s*=\s*"\(.*\)"/\1/p' version/version.go)
work=$(mktemp -d)
trap 'gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "release-check: $*" >&2; exit 1; }

# The values of a YAML list under "  key:" in the first build of .goreleaser.yml.
yaml_list() {
  awk -v key="$1:" '
    $1 == key { inlist = 1; next }
    inlist && $1 == "-" { gsub(/"/, "", $2); print $2; next }
    inlist && !/^[[:space:]]*#/ { exit }
  ' .goreleaser.yml
}

goreleaser check
grep -Eq '^[[:space:]]+draft: false' .goreleaser.yml || fail ".goreleaser.yml must publish releases (release.draft: false)"
all_goos=$(yaml_list goos | xargs)
goarch=$(yaml_list goarch | xargs)
if [ -z "$all_goos" ] || [ -z "$goarch" ]; then fail "cannot read goos/goarch from .goreleaser.yml"; fi
goos=${RELEASE_CHECK_GOOS:-$all_goos}
if [ "$goos" != "$all_goos" ]; then
  echo "release-check: WARNING: RELEASE_CHECK_GOOS='$goos': checking only these of '$all_goos'" >&2
fi

git clone -q "$root" "$work/src"
cd "$work/src"
if [ "$goos" != "$all_goos" ]; then
  # Drop the OSes left out from the clone's goos list (the clone only).
  for os in $all_goos; do
    case " $goos " in *" $os "*) ;; *) sed -i "/^      - $os\$/d" .goreleaser.yml ;; esac
  done
fi
git -c user.name=release-check -c user.email=release-check@localhost tag -a "v$version" -m "release check"
API_VERSION=$(go run . describe | sed -n 's/.*"api_version":"\([^"]*\)".*/\1/p')
export API_VERSION

# A throwaway signing key, as release.yml imports the real one.
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "release-check <release-check@localhost>" ed25519 sign 1d
GPG_FINGERPRINT=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')
export GPG_FINGERPRINT

goreleaser release --snapshot --clean >"$work/goreleaser.log" 2>&1 \
  || { tail -40 "$work/goreleaser.log"; fail "goreleaser release --snapshot failed (log above)"; }

prefix="packer-plugin-kvm_v${version}"
sums="dist/${prefix}_SHA256SUMS"
want_zips=()
for os in $goos; do
  for arch in $goarch; do want_zips+=("${prefix}_${API_VERSION}_${os}_${arch}.zip"); done
done

# The asset set is exactly the zips, the sums and the signature.
have=$(find dist -maxdepth 1 -type f \( -name "*.zip" -o -name "*_SHA256SUMS" -o -name "*_SHA256SUMS.sig" \) -printf "%f\n" | sort)
want=$(printf '%s\n' "${want_zips[@]}" "$(basename "$sums")" "$(basename "$sums").sig" | sort)
[ "$have" = "$want" ] || fail "assets differ from the expected set:
$(diff <(echo "$want") <(echo "$have") || true)"

listed=$(awk '{ print $2 }' "$sums" | sort)
[ "$listed" = "$(printf '%s\n' "${want_zips[@]}" | sort)" ] || fail "$sums does not list exactly the zips: $listed"
(cd dist && sha256sum --quiet -c "$(basename "$sums")") || fail "$sums does not match the zips"
gpg --batch --quiet --verify "$sums.sig" "$sums" 2>"$work/verify.log" \
  || { cat "$work/verify.log"; fail "$sums.sig is not a valid signature of $sums"; }

# The executable header each OS loads.
magic_for() {
  case $1 in
    linux | freebsd) echo 7f454c46 ;;          # ELF
    darwin) echo cffaedfe ;;                   # 64-bit Mach-O, little endian
    windows) echo 4d5a ;;                      # MZ (PE)
    *) fail "no executable header known for $1" ;;
  esac
}
mkdir "$work/unzip"
for zip in "${want_zips[@]}"; do
  bin=${zip%.zip}
  case $bin in *_windows_*) bin=$bin.exe ;; esac # Windows binaries keep their .exe
  content=$(python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "dist/$zip")
  [ "$content" = "$bin" ] || fail "$zip holds '$content', want '$bin'"
  python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "dist/$zip" "$work/unzip"
  os=${zip%_*}; os=${os##*_}
  magic=$(magic_for "$os")
  head -c $((${#magic} / 2)) "$work/unzip/$bin" | od -An -tx1 | tr -d ' \n' | grep -qx "$magic" \
    || fail "$bin is not a $os executable"
done

linux_bin="${prefix}_${API_VERSION}_linux_amd64"
chmod +x "$work/unzip/$linux_bin"
describe=$("$work/unzip/$linux_bin" describe)
echo "describe: $describe"
echo "$describe" | grep -q "\"version\":\"$version\"" || fail "the released binary reports a prerelease"
mkdir "$work/plugins"
PACKER_PLUGIN_PATH="$work/plugins" packer plugins install --path "$work/unzip/$linux_bin" github.com/kvmforge/kvm
PACKER_PLUGIN_PATH="$work/plugins" packer plugins installed | grep -q "$linux_bin" \
  || fail "packer does not list the installed plugin"
echo "release-check: OK: ${#want_zips[@]} zips ($goos x $goarch), $(basename "$sums"), $(basename "$sums").sig"

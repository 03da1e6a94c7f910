#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the plugin and its tests need, only
# those that are missing. Where apt cannot be used, prints what to install.
set -euo pipefail
packages=(
  qemu-system-x86 qemu-utils ovmf          # the plugin: QEMU, qemu-img, UEFI firmware
  mmdebstrap e2fsprogs fdisk dosfstools mtools extlinux syslinux-common  # the test guest image
  openssh-client ca-certificates           # the benchmark's hand-run baseline
  busybox                                  # kvm-sysprep's tests run its script under ash too
  swtpm jq                                 # tpm = true; scripts/secureboot-image.sh
  grub-common grub-pc-bin grub-efi-amd64-bin xorriso cpio kmod  # the installer ISO fixture (scripts/installer-fixture.sh)
  dnsmasq-base iproute2                    # net_bridge's acceptance test: a DHCP server on a bridge in its own netns (dnsmasq-base: no system service)
  qemu-system-arm qemu-efi-aarch64 qemu-user-static binfmt-support arch-test  # arm64 guests and their test image (mmdebstrap needs arch-test for a foreign one)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all packages present" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "deps: install these packages, then run again: ${missing[*]}" >&2
  echo "      sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

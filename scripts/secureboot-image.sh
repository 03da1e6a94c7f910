#!/usr/bin/env bash
# Builds the Secure Boot variant of the test guest image from the cached base
# image (scripts/base-image.sh): the same disk, with Debian's signed boot chain
# on the ESP instead of the base image's unsigned systemd-boot.
#
#   EFI/BOOT/BOOTX64.EFI   shim, signed by Microsoft's UEFI CA (shim-signed)
#   EFI/BOOT/grubx64.efi   GRUB, signed by Debian's key that shim trusts
#                          (grub-efi-amd64-signed)
#   EFI/BOOT/grub.cfg      read by signed GRUB from the directory it was
#                          loaded from ($cmdpath) when no /boot/grub exists on
#                          its root; a copy sits in EFI/debian/, its prefix
#   /vmlinuz, /initrd.img  the base image's kernel (Debian signs
#                          linux-image-*-cloud-amd64) and initramfs
#
# No fbx64.efi is installed, so shim started as the removable-media loader
# goes straight to grubx64.efi beside it. tpm2-tools is installed in the root
# so tests can read PCRs. Under OVMF with Microsoft's keys enrolled
# (OVMF_VARS*.ms.fd) this boots with Secure Boot enforced; the base image
# itself, whose boot loader is unsigned, is refused.
#
# Usage: scripts/secureboot-image.sh      prints the cached image's path
# Cached under $KVM_IMAGE_CACHE (default ~/.cache/packer-plugin-kvm) by a key
# over this script and the base image's file name (itself keyed by its recipe).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
base=$("$here/base-image.sh")
cache=${KVM_IMAGE_CACHE:-$HOME/.cache/packer-plugin-kvm}
key=$( { sha256sum < "$0"; basename "$base"; } | sha256sum | cut -c1-12)
out="$cache/debian12-secureboot-$key.qcow2"
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

for tool in qemu-img sfdisk jq mcopy mdeltree mmd blkid; do
  command -v "$tool" >/dev/null || {
    echo "secureboot-image: $tool is missing; run 'make deps' (or scripts/deps.sh)" >&2
    exit 1
  }
done
[ "$(id -u)" = 0 ] || { echo "secureboot-image: must run as root (loop mount, chroot)" >&2; exit 1; }

mirror=$("$here/debian-mirror.sh")
work=$(mktemp -d "${TMPDIR:-/tmp}/kvm-secureboot-image.XXXXXX")
root="$work/root"
mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null || true
  done
  rm -rf "$work"
  rm -f "$out.tmp"
}
trap cleanup EXIT

disk="$work/disk.raw"
qemu-img convert -f qcow2 -O raw "$base" "$disk"

# Partition offsets from the table, not from the base recipe's constants.
table=$(sfdisk -J "$disk")
part() { jq -r ".partitiontable.partitions[] | select(.name == \"$1\") | .$2" <<<"$table"; }
esp_off=$(( $(part esp start) * 512 ))
root_off=$(( $(part root start) * 512 ))
root_len=$(( $(part root size) * 512 ))

mkdir -p "$root"
mount -o loop,offset=$root_off,sizelimit=$root_len "$disk" "$root"
mounts+=("$root")
for fs in proc sys dev; do
  mount --bind "/$fs" "$root/$fs"
  mounts+=("$root/$fs")
done
root_uuid=$(findmnt -no UUID "$root" || true)
[ -n "$root_uuid" ] || root_uuid=$(blkid -o value -s UUID "$(findmnt -no SOURCE "$root")")

echo "secureboot-image: installing the signed boot chain and tpm2-tools from $mirror" >&2
cp "$root/etc/resolv.conf" "$work/resolv.conf.orig"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $mirror bookworm main" > "$root/etc/apt/sources.list"
# No service may start in the chroot.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
chroot "$root" apt-get -qq update >&2
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -qq -y --no-install-recommends install \
  shim-signed grub-efi-amd64-signed tpm2-tools >&2
chroot "$root" apt-get -qq clean
rm -f "$root/usr/sbin/policy-rc.d" "$root"/var/lib/apt/lists/*_Packages
cp "$work/resolv.conf.orig" "$root/etc/resolv.conf"
echo "deb http://deb.debian.org/debian bookworm main" > "$root/etc/apt/sources.list"

esp="$work/esp"
mkdir -p "$esp"
cp "$root/usr/lib/shim/shimx64.efi.signed" "$esp/BOOTX64.EFI"
cp "$root/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$esp/grubx64.efi"
cp "$root/usr/lib/shim/mmx64.efi.signed" "$esp/mmx64.efi"
cmdline="root=UUID=$root_uuid ro console=tty0 console=ttyS0,115200"
{
  echo 'set timeout=0'
  # The ESP holds the kernel; find it by a file only this image has there.
  echo 'search --no-floppy --file --set=root /EFI/BOOT/grubx64.efi'
  echo 'menuentry "Debian 12 (Secure Boot)" {'
  echo "  linux /vmlinuz $cmdline"
  echo '  initrd /initrd.img'
  echo '}'
} > "$esp/grub.cfg"
sync
for m in "$root/dev" "$root/sys" "$root/proc" "$root"; do umount "$m"; done
mounts=()

img="$disk@@$esp_off"
mdeltree -i "$img" ::/EFI/BOOT ::/loader
mmd -i "$img" ::/EFI/BOOT ::/EFI/debian
mcopy -i "$img" "$esp/BOOTX64.EFI" "$esp/grubx64.efi" "$esp/mmx64.efi" "$esp/grub.cfg" ::/EFI/BOOT/
mcopy -i "$img" "$esp/grub.cfg" ::/EFI/debian/

mkdir -p "$cache"
qemu-img convert -f raw -O qcow2 "$disk" "$out.tmp"
mv "$out.tmp" "$out"
echo "secureboot-image: done (base $(basename "$base"))" >&2
echo "$out"

#!/usr/bin/env bash
# Builds a small, real Debian 12 cloud-like disk image from Debian's packages:
# the guest the tests and the offline example boot. It is also a recipe for
# users who want a local base image without downloading one.
#
# The disk is hybrid, like Debian's own cloud images: a GPT with an EFI system
# partition (systemd-boot) and a root partition that extlinux boots from BIOS,
# so the same file serves `firmware = "bios"` and `firmware = "uefi"`.
# cloud-init keeps its stock behaviour (NoCloud seed, host keys generated on
# first boot): making a build fast is the builder's job, not the fixture's.
#
# Usage: scripts/base-image.sh            prints the cached image's path
# The result is cached under $KVM_IMAGE_CACHE (default ~/.cache/packer-plugin-kvm)
# by a key over this script, so a second run is instant.
set -euo pipefail

cache=${KVM_IMAGE_CACHE:-$HOME/.cache/packer-plugin-kvm}
key=$(sha256sum "$0" | cut -c1-12)
out="$cache/debian12-cloud-$key.qcow2"
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

for tool in mmdebstrap mkfs.ext4 mkfs.vfat mcopy sfdisk extlinux qemu-img; do
  command -v "$tool" >/dev/null || {
    echo "base-image: $tool is missing; run 'make deps' (or scripts/deps.sh)" >&2
    exit 1
  }
done
[ "$(id -u)" = 0 ] || { echo "base-image: must run as root (mmdebstrap, loop mount)" >&2; exit 1; }

mirror=$("$(dirname "$0")/debian-mirror.sh")
work=$(mktemp -d "${TMPDIR:-/tmp}/kvm-base-image.XXXXXX")
mnt=""
cleanup() {
  [ -n "$mnt" ] && mountpoint -q "$mnt" && umount "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT

root_uuid=5b1c3d6e-0d1a-4c55-9a8e-6f2b8e4c0a11
esp_mib=128
root_mib=2048
packages=systemd-sysv,udev,dbus,openssh-server,sudo,cloud-init,cloud-guest-utils,
packages+=linux-image-cloud-amd64,initramfs-tools,ifupdown,isc-dhcp-client,iproute2,
packages+=netbase,e2fsprogs,systemd-boot-efi,locales,less,procps

echo "base-image: bootstrapping Debian 12 into $work/root" >&2
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  --customize-hook='echo "debian" > "$1"/etc/hostname' \
  --customize-hook='truncate -s 0 "$1"/etc/machine-id' \
  --customize-hook='sed -i "s/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/" "$1"/etc/locale.gen' \
  --customize-hook='chroot "$1" locale-gen >/dev/null' \
  --customize-hook='echo LANG=C.UTF-8 > "$1"/etc/default/locale' \
  --customize-hook="echo 'UUID=$root_uuid / ext4 rw,discard,errors=remount-ro 0 1' > \"\$1\"/etc/fstab" \
  --customize-hook='printf "datasource_list: [ NoCloud, None ]\n" > "$1"/etc/cloud/cloud.cfg.d/90-datasources.cfg' \
  --customize-hook='printf "manage_etc_hosts: true\n" > "$1"/etc/cloud/cloud.cfg.d/01_debian_cloud.cfg' \
  --customize-hook='printf "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n" > "$1"/etc/hosts' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
  bookworm "$work/root" "$mirror" >&2

kver=$(basename "$(ls "$work"/root/boot/vmlinuz-* | head -n1)" | sed 's/^vmlinuz-//')
cmdline="root=UUID=$root_uuid ro console=tty0 console=ttyS0,115200"

# BIOS path: extlinux reads its config from the root filesystem.
mkdir -p "$work/root/boot/extlinux"
cat > "$work/root/boot/extlinux/extlinux.conf" <<CONF
DEFAULT debian
TIMEOUT 0
PROMPT 0
LABEL debian
  LINUX /boot/vmlinuz-$kver
  INITRD /boot/initrd.img-$kver
  APPEND $cmdline
CONF

# UEFI path: systemd-boot on the ESP, with its own copy of the kernel.
mkdir -p "$work/esp/EFI/BOOT" "$work/esp/loader/entries"
cp "$work/root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$work/esp/EFI/BOOT/BOOTX64.EFI"
cp "$work/root/boot/vmlinuz-$kver" "$work/esp/vmlinuz"
cp "$work/root/boot/initrd.img-$kver" "$work/esp/initrd.img"
printf 'default debian.conf\ntimeout 0\n' > "$work/esp/loader/loader.conf"
printf 'title Debian 12\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$cmdline" \
  > "$work/esp/loader/entries/debian.conf"

echo "base-image: writing partitions" >&2
truncate -s "${esp_mib}M" "$work/esp.img"
mkfs.vfat -F 32 -n ESP "$work/esp.img" >/dev/null
mcopy -s -i "$work/esp.img" "$work"/esp/* ::/
truncate -s "${root_mib}M" "$work/root.img"
mkfs.ext4 -q -L rootfs -U "$root_uuid" -d "$work/root" "$work/root.img"

disk="$work/disk.raw"
truncate -s $((1 + esp_mib + root_mib + 1))M "$disk"
sfdisk --quiet "$disk" <<PARTS
label: gpt
start=1MiB, size=${esp_mib}MiB, type=uefi, name=esp
start=$((1 + esp_mib))MiB, size=${root_mib}MiB, type=linux, name=root, attrs=LegacyBIOSBootable
PARTS
dd if="$work/esp.img" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$disk" bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none
dd if=/usr/lib/EXTLINUX/gptmbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none

mnt="$work/mnt"
mkdir -p "$mnt"
mount -o loop,offset=$(((1 + esp_mib) * 1048576)) "$disk" "$mnt"
extlinux --install "$mnt/boot/extlinux" >/dev/null 2>&1
umount "$mnt"

mkdir -p "$cache"
qemu-img convert -f raw -O qcow2 "$disk" "$out.tmp"
mv "$out.tmp" "$out"
echo "base-image: done" >&2
echo "$out"

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
# The arm64 variant is UEFI-only (systemd-boot as EFI/BOOT/BOOTAA64.EFI, serial
# console ttyAMA0, the PL011 UART of QEMU's `virt` machine). It is built on any
# host: mmdebstrap runs the arm64 maintainer scripts through qemu-user-static,
# registered with binfmt_misc, which this script sets up itself.
#
# Usage: scripts/base-image.sh            prints the cached amd64 image's path
#        scripts/base-image.sh arm64      the same for the arm64 image
# The result is cached under $KVM_IMAGE_CACHE (default ~/.cache/packer-plugin-kvm)
# by a key over this script and the architecture, so a second run is instant.
set -euo pipefail

arch=${1:-amd64}
cache=${KVM_IMAGE_CACHE:-$HOME/.cache/packer-plugin-kvm}
key=$(sha256sum "$0" | cut -c1-12)
case "$arch" in
  amd64 | x86_64) arch=amd64 out="$cache/debian12-cloud-$key.qcow2" ;;
  arm64 | aarch64) arch=arm64 out="$cache/debian12-cloud-arm64-$key.qcow2" ;;
  *) echo "base-image: unknown architecture '$arch'; use amd64 or arm64" >&2; exit 1 ;;
esac
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

tools="mmdebstrap mkfs.ext4 mkfs.vfat mcopy sfdisk qemu-img"
[ "$arch" = amd64 ] && tools+=" extlinux"
[ "$arch" = arm64 ] && tools+=" update-binfmts"
for tool in $tools; do
  command -v "$tool" >/dev/null || {
    echo "base-image: $tool is missing; run 'make deps' (or scripts/deps.sh)" >&2
    exit 1
  }
done
[ "$(id -u)" = 0 ] || { echo "base-image: must run as root (mmdebstrap, loop mount)" >&2; exit 1; }

# A foreign arm64 bootstrap needs the kernel to hand arm64 binaries to
# qemu-aarch64-static: mount binfmt_misc where the host has not (containers,
# minimal hosts) and make sure Debian's qemu-aarch64 handler is enabled.
setup_binfmt_arm64() {
  local fs=/proc/sys/fs/binfmt_misc
  [ "$(uname -m)" = aarch64 ] && return 0
  if [ ! -e "$fs/status" ]; then
    mount -t binfmt_misc binfmt_misc "$fs" || {
      echo "base-image: cannot mount binfmt_misc on $fs; mount it (or run on an arm64 host)" >&2
      exit 1
    }
  fi
  [ -e "$fs/qemu-aarch64" ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  if ! grep -qx enabled "$fs/qemu-aarch64" 2>/dev/null; then
    echo "base-image: the qemu-aarch64 binfmt_misc handler is not registered;" \
      "install qemu-user-static and binfmt-support ('make deps'), then 'update-binfmts --enable qemu-aarch64'" >&2
    exit 1
  fi
}
[ "$arch" = arm64 ] && setup_binfmt_arm64

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
packages+=linux-image-cloud-$arch,initramfs-tools,ifupdown,isc-dhcp-client,iproute2,
packages+=netbase,e2fsprogs,systemd-boot-efi,locales,less,procps

# Under emulation every process of a maintainer script costs ~100 times
# its native time, and initramfs-tools' default (MODULES=most: every
# storage and filesystem driver, resolved one modprobe at a time) takes
# most of the bootstrap. The arm64 image only ever boots on QEMU's `virt`
# board from a virtio disk (ext4 is built into the cloud kernel), so its
# initramfs carries just those drivers.
arch_hooks=()
if [ "$arch" = arm64 ]; then
  # (The list goes to modules.d, not to /etc/initramfs-tools/modules, a
  # conffile that dpkg would ask about when the package arrives.)
  initramfs_hook='mkdir -p "$1"/etc/initramfs-tools/conf.d "$1"/usr/share/initramfs-tools/modules.d'
  initramfs_hook+=' && echo MODULES=list > "$1"/etc/initramfs-tools/conf.d/virt.conf'
  initramfs_hook+=' && printf "virtio_pci\nvirtio_blk\n" > "$1"/usr/share/initramfs-tools/modules.d/virt-disk'
  arch_hooks+=(--essential-hook="$initramfs_hook")
fi

echo "base-image: bootstrapping Debian 12 ($arch) into $work/root" >&2
mmdebstrap --quiet --variant=minbase --architectures="$arch" --include="$packages" \
  ${arch_hooks[@]+"${arch_hooks[@]}"} \
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
[ "$arch" = arm64 ] && cmdline="root=UUID=$root_uuid ro console=tty0 console=ttyAMA0,115200"

# BIOS path (amd64 only): extlinux reads its config from the root filesystem.
if [ "$arch" = amd64 ]; then
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
fi

# UEFI path: systemd-boot on the ESP, with its own copy of the kernel.
mkdir -p "$work/esp/EFI/BOOT" "$work/esp/loader/entries"
if [ "$arch" = amd64 ]; then
  cp "$work/root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$work/esp/EFI/BOOT/BOOTX64.EFI"
  cp "$work/root/boot/vmlinuz-$kver" "$work/esp/vmlinuz"
else
  cp "$work/root/usr/lib/systemd/boot/efi/systemd-bootaa64.efi" "$work/esp/EFI/BOOT/BOOTAA64.EFI"
  # systemd-boot loads the kernel's Image as a PE file (its EFI stub).
  # Debian 12's arm64 vmlinuz is that Image; a kernel shipped as Image.gz
  # (the other common arm64 form) is unpacked first.
  if [ "$(head -c2 "$work/root/boot/vmlinuz-$kver" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
    zcat "$work/root/boot/vmlinuz-$kver" > "$work/esp/vmlinuz"
  else
    cp "$work/root/boot/vmlinuz-$kver" "$work/esp/vmlinuz"
  fi
fi
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
root_attrs=", attrs=LegacyBIOSBootable"
[ "$arch" = arm64 ] && root_attrs=""
sfdisk --quiet "$disk" <<PARTS
label: gpt
start=1MiB, size=${esp_mib}MiB, type=uefi, name=esp
start=$((1 + esp_mib))MiB, size=${root_mib}MiB, type=linux, name=root$root_attrs
PARTS
dd if="$work/esp.img" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$disk" bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none

if [ "$arch" = amd64 ]; then
  dd if=/usr/lib/EXTLINUX/gptmbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
  mnt="$work/mnt"
  mkdir -p "$mnt"
  mount -o loop,offset=$(((1 + esp_mib) * 1048576)) "$disk" "$mnt"
  extlinux --install "$mnt/boot/extlinux" >/dev/null 2>&1
  umount "$mnt"
fi

mkdir -p "$cache"
qemu-img convert -f raw -O qcow2 "$disk" "$out.tmp"
mv "$out.tmp" "$out"
echo "base-image: done" >&2
echo "$out"

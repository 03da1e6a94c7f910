#!/usr/bin/env bash
# Builds an installer-shaped fixture for the kvm builder's ISO mode, from the
# project's cached test image (scripts/base-image.sh) and Debian's packages:
#
#   <dir>/installer.iso     a GRUB rescue ISO (BIOS and UEFI, grub-mkrescue)
#                           whose menu waits for a key, around the test image's
#                           kernel and a small busybox "installer" initramfs
#   <dir>/http/install.sh   the install script the initramfs fetches from the
#                           url= the boot_command appends to the kernel line
#   <dir>/http/rootfs.tar.gz the test image's root file system, which the
#                           install script extracts onto the blank disk
#
# The installer does what a real one does: partitions and formats the blank
# disk (GPT: ESP + root), extracts the system, installs boot loaders (extlinux
# for BIOS, systemd-boot for UEFI), creates the user `packer` with password
# `packer` and passwordless sudo, disables cloud-init (the installed system
# has none to wait for), copies the files of the CD labelled INSTDATA
# (cd_files) to /var/lib/installer-cd, and reboots.
#
# Usage: scripts/installer-fixture.sh      prints the fixture directory
# Cached under $KVM_IMAGE_CACHE (default ~/.cache/packer-plugin-kvm) by a key
# over this script and the base image's name. Needs root (loop mount).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${KVM_IMAGE_CACHE:-$HOME/.cache/packer-plugin-kvm}
base=$("$here/base-image.sh")
key=$( (cat "$0"; basename "$base") | sha256sum | cut -c1-12)
out="$cache/installer-$key"
if [ -s "$out/installer.iso" ] && [ -s "$out/http/rootfs.tar.gz" ]; then
  echo "$out"
  exit 0
fi

for tool in grub-mkrescue xorriso mformat qemu-img busybox sfdisk mkfs.ext4 mkfs.vfat extlinux depmod cpio; do
  command -v "$tool" >/dev/null || {
    echo "installer-fixture: $tool is missing; run 'make deps' (or scripts/deps.sh)" >&2
    exit 1
  }
done
[ "$(id -u)" = 0 ] || { echo "installer-fixture: must run as root (loop mount)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kvm-installer-fixture.XXXXXX")
mnt="$work/mnt"
cleanup() {
  mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT

# The base image's root partition starts after 1 MiB + the 128 MiB ESP.
echo "installer-fixture: unpacking $base" >&2
qemu-img convert -f qcow2 -O raw "$base" "$work/disk.raw"
mkdir -p "$mnt" "$work/out/http"
mount -o loop,ro,offset=$((129 * 1048576)) "$work/disk.raw" "$mnt"
kver=$(ls "$mnt/lib/modules")
tar -C "$mnt" --numeric-owner -cf - . | gzip -1 > "$work/out/http/rootfs.tar.gz"

# The installer initramfs: busybox, the host's partitioning and boot loader
# tools with their libraries, and the guest kernel's storage/network modules.
echo "installer-fixture: writing the installer initramfs" >&2
ird="$work/initrd"
mkdir -p "$ird"/{bin,sbin,etc,proc,sys,dev,tmp,target,esp,cd,lib/modules,usr/share/syslinux}
cp /bin/busybox "$ird/bin/"
for applet in $(busybox --list); do
  [ -e "$ird/bin/$applet" ] || ln -s busybox "$ird/bin/$applet"
done
for tool in busybox sfdisk mkfs.ext4 mkfs.vfat extlinux; do
  bin=$(command -v "$tool")
  [ "$tool" = busybox ] || cp -L "$bin" "$ird/sbin/$tool"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$ird$(dirname "$lib")"
    cp -L "$lib" "$ird$lib"
  done
done
cp /usr/lib/EXTLINUX/gptmbr.bin "$ird/usr/share/syslinux/"
cp /etc/mke2fs.conf "$ird/etc/" # the same ext4 features as the base image
# Every tool must run from the initramfs alone (no library missing).
chroot "$ird" /bin/sh -c 'sfdisk --version && mkfs.ext4 -V && mkfs.vfat --help && extlinux --version' >/dev/null 2>&1 || {
  echo "installer-fixture: a tool does not run inside the initramfs" >&2
  exit 1
}
modules="virtio_pci virtio_blk virtio_net virtio_scsi sr_mod isofs vfat nls_cp437 nls_ascii nls_utf8"
: > "$ird/etc/modules.order"
for m in $modules; do
  for ko in $(modprobe -d "$mnt" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'); do
    grep -qx "${ko#"$mnt"}" "$ird/etc/modules.order" && continue
    mkdir -p "$ird$(dirname "${ko#"$mnt"}")"
    cp "$ko" "$ird${ko#"$mnt"}"
    echo "${ko#"$mnt"}" >> "$ird/etc/modules.order"
  done
done
cat > "$ird/etc/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
bound|renew)
  ip addr flush dev "$interface"
  ip addr add "$ip/${mask:-24}" dev "$interface"
  [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
  : > /etc/resolv.conf
  for ns in $dns; do echo "nameserver $ns" >> /etc/resolv.conf; done
  ;;
esac
SCRIPT
cat > "$ird/init" <<'INIT'
#!/bin/sh
# A minimal network installer: bring up the disk, the CD and the network,
# fetch the install script named by url= on the kernel command line, run it.
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r ko; do insmod "$ko" 2>/dev/null; done < /etc/modules.order
echo "installer: kernel command line: $(cat /proc/cmdline)"
url=$(sed -n 's/.*\burl=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "installer: install script url=${url:-<none>}"
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -s /etc/udhcpc.script -q -n -t 10 || echo "installer: DHCP failed"
if [ -n "$url" ] && wget -q -O /tmp/install.sh "$url"; then
  INSTALL_URL=$url sh /tmp/install.sh && { sync; echo "installer: done, rebooting"; reboot -f; }
  echo "installer: install.sh failed"
else
  echo "installer: no install script: add url=http://<host>:<port>/install.sh to the kernel line"
fi
exec sh
INIT
chmod +x "$ird/init" "$ird/etc/udhcpc.script"
mkdir -p "$work/iso/boot/grub"
cp "$mnt/boot/vmlinuz-$kver" "$work/iso/boot/vmlinuz"
(cd "$ird" && find . | cpio --quiet -o -H newc | gzip -1) > "$work/iso/boot/initrd.img"

# The menu waits for a key, like an installer's boot menu; the kernel line
# is the second line of the entry, so the boot_command has to move to it.
cat > "$work/iso/boot/grub/grub.cfg" <<'CFG'
set timeout=-1
# The menu is also drawn on the serial console, which the build logs.
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
menuentry "Install Debian (kvm builder fixture)" {
  insmod gzio
  linux /boot/vmlinuz console=tty0 console=ttyS0,115200
  initrd /boot/initrd.img
}
CFG

cat > "$work/out/http/install.sh" <<'INSTALL'
#!/bin/sh
# The fixture's install script: what a preseed or kickstart file makes a
# real installer do, in a few lines.
set -eux
base=${INSTALL_URL%/*}
disk=/dev/vda
uuid=$(cat /proc/sys/kernel/random/uuid)

sfdisk "$disk" <<PARTS
label: gpt
start=1MiB, size=128MiB, type=uefi, name=esp
start=129MiB, type=linux, name=root, attrs=LegacyBIOSBootable
PARTS
sleep 1
mkfs.vfat -F 32 -n ESP "${disk}1"
mkfs.ext4 -q -L rootfs -U "$uuid" "${disk}2"
mount -t ext4 "${disk}2" /target
echo "installer: extracting the system"
# wget's progress meter keeps the console busy: the build's boot progress
# watch takes a silent console for a hung guest.
wget -O - "$base/rootfs.tar.gz" | gunzip | tar -x -C /target

cmdline="root=UUID=$uuid ro console=tty0 console=ttyS0,115200"
echo "UUID=$uuid / ext4 rw,discard,errors=remount-ro 0 1" > /target/etc/fstab
sed -i "s|^  APPEND .*|  APPEND $cmdline|" /target/boot/extlinux/extlinux.conf
extlinux --install /target/boot/extlinux
dd if=/usr/share/syslinux/gptmbr.bin of="$disk" bs=440 count=1 conv=notrunc
mount -t vfat "${disk}1" /esp
mkdir -p /esp/EFI/BOOT /esp/loader/entries
kver=$(ls /target/lib/modules)
cp /target/usr/lib/systemd/boot/efi/systemd-bootx64.efi /esp/EFI/BOOT/BOOTX64.EFI
cp "/target/boot/vmlinuz-$kver" /esp/vmlinuz
cp "/target/boot/initrd.img-$kver" /esp/initrd.img
printf 'default debian.conf\ntimeout 0\n' > /esp/loader/loader.conf
printf 'title Debian 12\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$cmdline" > /esp/loader/entries/debian.conf
umount /esp

# The system: no cloud-init, DHCP by systemd-networkd, host keys, the user.
touch /target/etc/cloud/cloud-init.disabled
printf '[Match]\nName=en* eth*\n[Network]\nDHCP=yes\n' > /target/etc/systemd/network/20-wired.network
mount -t proc proc /target/proc
mount -t devtmpfs dev /target/dev
chroot /target systemctl enable systemd-networkd.service
chroot /target ssh-keygen -A
echo installed > /target/etc/hostname
chroot /target useradd --create-home --shell /bin/bash --groups sudo packer
echo 'packer:packer' | chroot /target chpasswd
echo 'packer ALL=(ALL) NOPASSWD:ALL' > /target/etc/sudoers.d/packer
chmod 0440 /target/etc/sudoers.d/packer

# Files the build put on its cd_files CD (cd_label INSTDATA).
mkdir -p /target/var/lib/installer-cd
for cd in /dev/sr*; do
  mount -t iso9660 -o ro "$cd" /cd || continue
  if blkid "$cd" | grep -q 'LABEL="INSTDATA"'; then
    cp -r /cd/. /target/var/lib/installer-cd/
  fi
  umount /cd
done
umount /target/proc /target/dev
umount /target
INSTALL

echo "installer-fixture: writing the ISO" >&2
grub-mkrescue -o "$work/out/installer.iso" "$work/iso" -- -volid KVMINSTALL >/dev/null 2>&1
umount "$mnt"

mkdir -p "$cache"
rm -rf "$out.tmp" "$out"
mv "$work/out" "$out.tmp"
mv "$out.tmp" "$out"
echo "installer-fixture: done" >&2
echo "$out"

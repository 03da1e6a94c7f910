// Package boottest boots a disk image in a throwaway QEMU VM with the
// virtual hardware of the platform it is meant for, and tells whether the
// guest came up: its kernel found the disk, cloud-init's final stage ran
// and the network is up. The image itself is never written: the VM runs on
// a temporary qcow2 overlay.
package boottest

import (
	"fmt"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// Disk controllers, as the boot VM attaches the disk (args.go).
const (
	DiskVirtioBlk  = "virtio-blk"
	DiskVirtioSCSI = "virtio-scsi"
	DiskPVSCSI     = "pvscsi"
	DiskLSI        = "lsi53c895a"
	DiskAHCI       = "ahci"
	DiskIDE        = "ide"
)

// Network cards, by QEMU device name.
const (
	NICVirtio  = "virtio-net-pci"
	NICE1000   = "e1000"
	NICVMXNET3 = "vmxnet3"
)

// Hardware is the boot VM's virtual hardware.
type Hardware struct {
	// Platform names what the hardware stands for, for messages.
	Platform string
	// Arch is the guest architecture in QEMU's naming ("" is x86_64).
	Arch string
	// Machine is the -machine type.
	Machine string
	// Disk is the controller of the boot disk (and of the test's seed).
	Disk string
	// NIC is the network card's QEMU device.
	NIC string
	// Firmware is "bios" or "uefi".
	Firmware string
	// Accelerator is QEMU's: kvm, tcg, hvf or whpx.
	Accelerator string
}

// diskNames describe the controllers for people.
var diskNames = map[string]string{
	DiskVirtioBlk:  "virtio-blk disk",
	DiskVirtioSCSI: "virtio-scsi disk",
	DiskPVSCSI:     "VMware PVSCSI disk (pvscsi)",
	DiskLSI:        "LSI 53C895A SCSI disk (lsi53c895a, QEMU's closest to VMware's LSI Logic)",
	DiskAHCI:       "SATA AHCI disk (ich9-ahci)",
	DiskIDE:        "IDE disk (PIIX)",
}

// String describes the hardware, as failures and the UI print it.
func (h Hardware) String() string {
	return fmt.Sprintf("%s: %s machine, %s, %s network card, %s firmware", h.Platform, h.Machine, diskNames[h.Disk], h.NIC, strings.ToUpper(h.Firmware))
}

// TargetOptions are what decides a target's hardware beyond its format.
type TargetOptions struct {
	// Format is the export's format name: qcow2, raw, vmdk, vhdx, vhd, vdi,
	// gce or ova.
	Format string
	// OVAController and OVANIC are an `ova` target's disk_controller
	// (lsilogic, pvscsi, sata) and network_adapter (vmxnet3, e1000).
	OVAController, OVANIC string
	// Firmware is the image's firmware, "bios" or "uefi" (an OVA's `efi`
	// counts as uefi).
	Firmware string
	// Arch is the image's architecture ("" is x86_64).
	Arch string
}

// ovaControllers maps an OVF's disk controller to QEMU's device.
var ovaControllers = map[string]string{"lsilogic": DiskLSI, "pvscsi": DiskPVSCSI, "sata": DiskAHCI}

// ovaNICs maps an OVF's network adapter to QEMU's device.
var ovaNICs = map[string]string{"vmxnet3": NICVMXNET3, "e1000": NICE1000}

// ForTarget is the hardware a target is booted with: its platform's, as
// far as QEMU has it.
//
//   - qcow2, raw: KVM/OpenStack-style virtio disk and network on q35.
//   - vmdk: vSphere's paravirtual pair for Linux, PVSCSI and VMXNET3, on the
//     i440FX board (VMware's virtual board is the i440BX).
//   - ova: the controller and network card its OVF declares.
//   - vdi: VirtualBox's defaults for a Linux VM: a SATA AHCI disk and an
//     Intel PRO/1000 MT (e1000) on the PIIX3 board.
//   - gce: Compute Engine's virtio-scsi disk and virtio-net.
//   - vhd, vhdx: Hyper-V's generation 1 VM boots from an emulated IDE disk
//     on the i440FX board; its network card (netvsc, on the VMBus) has no
//     QEMU model, so virtio-net stands in for it.
//
// On architectures other than x86_64 the board is the architecture's own
// (arm64's virt), which has no IDE: virtio-scsi stands in for it.
func ForTarget(o TargetOptions) Hardware {
	h := Hardware{Arch: o.Arch, Machine: "pc", Firmware: o.Firmware}
	if h.Firmware == "efi" {
		h.Firmware = "uefi"
	}
	if h.Firmware == "" {
		h.Firmware = "bios"
	}
	switch o.Format {
	case "vmdk":
		h.Platform, h.Disk, h.NIC = "vSphere (VMware paravirtual hardware)", DiskPVSCSI, NICVMXNET3
	case "ova":
		h.Platform, h.Disk, h.NIC = "OVF's declared hardware", ovaControllers[o.OVAController], ovaNICs[o.OVANIC]
		if h.Disk == "" {
			h.Disk = DiskPVSCSI
		}
		if h.NIC == "" {
			h.NIC = NICVMXNET3
		}
	case "vdi":
		h.Platform, h.Disk, h.NIC = "VirtualBox defaults", DiskAHCI, NICE1000
	case "gce":
		h.Platform, h.Machine, h.Disk, h.NIC = "Compute Engine", "q35", DiskVirtioSCSI, NICVirtio
	case "vhd", "vhdx":
		h.Platform, h.Disk, h.NIC = "Hyper-V generation 1 (virtio-net stands in for netvsc)", DiskIDE, NICVirtio
	default:
		h.Platform, h.Machine, h.Disk, h.NIC = "KVM (virtio)", "q35", DiskVirtioBlk, NICVirtio
	}
	if arch := qemu.ArchByName(o.Arch); arch.Name != qemu.ArchX8664.Name {
		h.Machine = arch.Machine
		h.Firmware = "uefi"
		if h.Disk == DiskIDE {
			h.Disk = DiskVirtioSCSI
		}
	}
	return h
}

// DiskFormat is the QEMU block format of a target's disk (after an `ova`'s
// VMDK or a `gce` tarball's disk.raw is taken out).
func DiskFormat(format string) string {
	switch format {
	case "vhd":
		return "vpc"
	case "gce":
		return "raw"
	case "ova":
		return "vmdk"
	}
	return format
}

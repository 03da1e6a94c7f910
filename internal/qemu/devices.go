package qemu

import (
	"cmp"
	"fmt"
	"strings"
)

// Hardware is the VM's device choice: its disk controller and network
// card, Secure Boot and the TPM. Its zero value is the builder's default
// VM (virtio disks and network, trim-friendly disk options).
type Hardware struct {
	MachineType      string
	DiskInterface    string // virtio-blk | virtio-scsi | nvme | sata | ide
	DiskCache        string
	DiskDiscard      string
	DiskDetectZeroes string
	NetDevice        string // virtio-net | e1000 | e1000e | vmxnet3 | rtl8139
	MACAddress       string
	SecureBoot       bool
	// Bridge, when set, attaches the network card to this host bridge
	// through BridgeHelper (qemu-bridge-helper) instead of the user
	// network: the guest is then on the bridge's LAN and SSH is not
	// forwarded.
	Bridge       string
	BridgeHelper string
}

// MaxDisksPerInterface is how many disks (the main one included) each
// controller the builder adds can hold; virtio and NVMe take a PCI slot per
// disk, so their bound is the bus, far above any build's need.
var MaxDisksPerInterface = map[string]int{"sata": 6, "ide": 4}

// diskArgs attaches the build's disk (bootable, first) and the additional
// disks, in order, on the configured interface.
func diskArgs(h Hardware, disks []string) []string {
	var args []string
	switch h.DiskInterface {
	case "virtio-scsi":
		args = append(args, "-device", "virtio-scsi-pci,id=scsi0")
	case "sata":
		// Our own AHCI controller: the same on q35 (whose built-in one is
		// then unused) and on machines without one.
		args = append(args, "-device", "ich9-ahci,id=sata0")
	}
	for i, file := range disks {
		id := fmt.Sprintf("disk%d", i)
		args = append(args, "-drive", driveOption(h, id, file), "-device", diskDevice(h, id, i))
	}
	return args
}

func driveOption(h Hardware, id, file string) string {
	// A comma in a QEMU option value is written twice.
	return fmt.Sprintf("file=%s,if=none,id=%s,format=qcow2,cache=%s,discard=%s,detect-zeroes=%s",
		strings.ReplaceAll(file, ",", ",,"), id,
		cmp.Or(h.DiskCache, "writeback"), cmp.Or(h.DiskDiscard, "unmap"), cmp.Or(h.DiskDetectZeroes, "unmap"))
}

// diskDevice is the guest-visible device of the index-th disk; the first
// one is the boot disk.
func diskDevice(h Hardware, id string, index int) string {
	var dev string
	switch h.DiskInterface {
	case "virtio-scsi":
		dev = fmt.Sprintf("scsi-hd,bus=scsi0.0,scsi-id=%d,drive=%s", index, id)
	case "nvme":
		// QEMU requires a serial for every NVMe controller.
		dev = fmt.Sprintf("nvme,drive=%s,serial=packer-%s", id, id)
	case "sata":
		dev = fmt.Sprintf("ide-hd,bus=sata0.%d,drive=%s", index, id)
	case "ide":
		dev = fmt.Sprintf("ide-hd,bus=ide.%d,unit=%d,drive=%s", index/2, index%2, id)
	default:
		dev = "virtio-blk-pci,drive=" + id
	}
	if index == 0 {
		dev += ",bootindex=0"
	}
	return dev
}

// netDeviceModels maps net_device to QEMU's device names.
var netDeviceModels = map[string]string{
	"virtio-net": "virtio-net-pci", "e1000": "e1000", "e1000e": "e1000e", "vmxnet3": "vmxnet3", "rtl8139": "rtl8139",
}

// netArgs is the guest's network card on the user-mode network, whose SSH
// forward binds 127.0.0.1 only, or on the host bridge h.Bridge.
func netArgs(h Hardware, sshHostPort int) []string {
	model := netDeviceModels[h.NetDevice]
	if model == "" {
		model = "virtio-net-pci"
	}
	dev := model + ",netdev=net0"
	if h.MACAddress != "" {
		dev += ",mac=" + strings.ToLower(strings.ReplaceAll(h.MACAddress, "-", ":"))
	}
	netdev := fmt.Sprintf("user,id=net0,hostfwd=tcp:127.0.0.1:%d-:22", sshHostPort)
	if h.Bridge != "" {
		// A comma in a QEMU option value is written twice.
		netdev = "bridge,id=net0,br=" + strings.ReplaceAll(h.Bridge, ",", ",,") +
			",helper=" + strings.ReplaceAll(h.BridgeHelper, ",", ",,")
	}
	return []string{"-netdev", netdev, "-device", dev}
}

// smmArgs turns on what firmware marked "requires-smm" needs (OVMF's
// Secure Boot build, with secure_boot or chosen by its descriptor): SMM,
// and, for a Secure Boot capable build (secureVars), flash that only SMM
// code may write, so the guest's OS cannot rewrite the enrolled keys, as
// QEMU's docs/interop/firmware.json prescribes. QEMU merges a second
// -machine into the first.
func smmArgs(smm, secureVars bool) []string {
	var args []string
	if smm {
		args = append(args, "-machine", "smm=on")
	}
	if secureVars {
		args = append(args, "-global", "driver=cfi.pflash01,property=secure,value=on")
	}
	return args
}

// tpmDevices are the TPM 2.0 interfaces each machine family has: the
// command-response buffer on q35, TIS on i440FX's ISA bus and TIS on the
// system bus of arm64's virt.
var tpmDevices = map[string]string{"q35": "tpm-crb", "pc": "tpm-tis", "virt": "tpm-tis-device"}

// tpmArgs connects the VM to swtpm's control socket.
func tpmArgs(h Hardware, socket string) []string {
	if socket == "" {
		return nil
	}
	dev := tpmDevices[MachineFamily(h.MachineType)]
	if dev == "" {
		dev = "tpm-crb"
	}
	return []string{
		"-chardev", "socket,id=chrtpm,path=" + socket,
		"-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
		"-device", dev + ",tpmdev=tpm0",
	}
}

// MachineFamily tells the QEMU machine types apart by what they can hold:
// "q35" (ICH9 chipset: SMM for Secure Boot, TPM CRB, no IDE bus), "pc"
// (i440FX: IDE, TPM TIS), "virt" (arm64 and riscv: TPM TIS on the system
// bus) or "" for anything else. Options after the type (`virt,highmem=on`)
// do not change the family.
func MachineFamily(machine string) string {
	machine, _, _ = strings.Cut(machine, ",")
	switch {
	case machine == "q35" || strings.HasPrefix(machine, "pc-q35"):
		return "q35"
	case machine == "pc" || strings.HasPrefix(machine, "pc-i440fx"):
		return "pc"
	case machine == "virt" || strings.HasPrefix(machine, "virt-"):
		return "virt"
	}
	return ""
}

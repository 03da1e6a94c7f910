package boottest

import "testing"

// Each target's platform hardware, as the docs' table lists it.
func TestForTarget(t *testing.T) {
	cases := []struct {
		target                       TargetOptions
		machine, disk, nic, firmware string
	}{
		{TargetOptions{Format: "qcow2"}, "q35", DiskVirtioBlk, NICVirtio, "bios"},
		{TargetOptions{Format: "raw", Firmware: "uefi"}, "q35", DiskVirtioBlk, NICVirtio, "uefi"},
		{TargetOptions{Format: "vmdk"}, "pc", DiskPVSCSI, NICVMXNET3, "bios"},
		{TargetOptions{Format: "ova", OVAController: "lsilogic", OVANIC: "e1000"}, "pc", DiskLSI, NICE1000, "bios"},
		{TargetOptions{Format: "ova", OVAController: "sata", OVANIC: "vmxnet3", Firmware: "efi"}, "pc", DiskAHCI, NICVMXNET3, "uefi"},
		{TargetOptions{Format: "ova", OVAController: "pvscsi", OVANIC: "vmxnet3"}, "pc", DiskPVSCSI, NICVMXNET3, "bios"},
		{TargetOptions{Format: "vdi"}, "pc", DiskAHCI, NICE1000, "bios"},
		{TargetOptions{Format: "gce"}, "q35", DiskVirtioSCSI, NICVirtio, "bios"},
		{TargetOptions{Format: "vhd"}, "pc", DiskIDE, NICVirtio, "bios"},
		{TargetOptions{Format: "vhdx"}, "pc", DiskIDE, NICVirtio, "bios"},
		// arm64's virt board has no IDE, and no BIOS.
		{TargetOptions{Format: "vhdx", Arch: "aarch64"}, "virt,gic-version=max,highmem=on", DiskVirtioSCSI, NICVirtio, "uefi"},
		{TargetOptions{Format: "vdi", Arch: "arm64"}, "virt,gic-version=max,highmem=on", DiskAHCI, NICE1000, "uefi"},
	}
	for _, c := range cases {
		h := ForTarget(c.target)
		if h.Machine != c.machine || h.Disk != c.disk || h.NIC != c.nic || h.Firmware != c.firmware {
			t.Errorf("%+v: got %s %s %s %s, want %s %s %s %s", c.target, h.Machine, h.Disk, h.NIC, h.Firmware, c.machine, c.disk, c.nic, c.firmware)
		}
		if h.Platform == "" {
			t.Errorf("%+v: no platform named", c.target)
		}
	}
}

func TestDiskFormat(t *testing.T) {
	for format, want := range map[string]string{"qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk", "vhdx": "vhdx", "vhd": "vpc", "vdi": "vdi", "gce": "raw", "ova": "vmdk"} {
		if got := DiskFormat(format); got != want {
			t.Errorf("DiskFormat(%s) = %s, want %s", format, got, want)
		}
	}
}

package boottest

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// Media are the per-test files and settings of the boot VM.
type Media struct {
	Accelerator string
	CPUs        int
	MemoryMiB   int
	// Overlay is the qcow2 overlay over the image under test.
	Overlay string
	// Seed is the test's NoCloud seed, "" for none.
	Seed      string
	SerialLog string
	QMPSocket string
	// EFICode and EFIVars (the test's own copy) for UEFI; EFIFormats are
	// their block formats ("" is raw); EFISMM: the code requires SMM.
	EFICode, EFIVars string
	EFIFormats       [2]string
	EFISMM           bool
}

// Args is the boot VM's QEMU command line (without the binary). The order
// is fixed: golden tests (testdata/args) compare it exactly.
func Args(h Hardware, m Media) []string {
	arch := qemu.ArchByName(h.Arch)
	args := []string{
		"-machine", h.Machine,
		"-accel", m.Accelerator,
		"-cpu", arch.CPUFor(m.Accelerator),
		"-smp", strconv.Itoa(cmp.Or(m.CPUs, 1)),
		"-m", strconv.Itoa(m.MemoryMiB) + "M",
		"-nodefaults", "-no-user-config", "-display", "none",
		// A guest that reboots (a panic, a failed boot) ends the test at
		// once instead of looping until the timeout.
		"-no-reboot",
		"-qmp", "unix:" + m.QMPSocket + ",server=on,wait=off",
		"-chardev", "file,id=serial0,path=" + m.SerialLog,
		"-serial", "chardev:serial0",
	}
	args = append(args, diskArgs(h.Disk, m.Overlay, m.Seed)...)
	// The guest gets its address, route and DNS from QEMU's user network
	// (DHCP); nothing forwards into it.
	args = append(args, "-netdev", "user,id=net0", "-device", h.NIC+",netdev=net0")
	if h.Firmware == "uefi" {
		args = append(args,
			"-drive", "if=pflash,format="+cmp.Or(m.EFIFormats[0], "raw")+",unit=0,readonly=on,file="+escape(m.EFICode),
			"-drive", "if=pflash,format="+cmp.Or(m.EFIFormats[1], "raw")+",unit=1,file="+escape(m.EFIVars))
		if m.EFISMM {
			args = append(args, "-machine", "smm=on")
		}
	}
	return args
}

// diskArgs attaches the image (bootable) and the seed (when there is one)
// to the same controller, as a platform would attach a second disk or an
// ISO: the test adds no device the platform lacks.
func diskArgs(controller, overlay, seed string) []string {
	disks := []string{"-drive", "file=" + escape(overlay) + ",if=none,id=disk0,format=qcow2"}
	if seed != "" {
		disks = append(disks, "-drive", "file="+escape(seed)+",if=none,id=seed,format=raw")
	}
	var args []string
	switch controller {
	case DiskVirtioSCSI, DiskPVSCSI, DiskLSI:
		hba := map[string]string{DiskVirtioSCSI: "virtio-scsi-pci", DiskPVSCSI: "pvscsi", DiskLSI: "lsi53c895a"}[controller]
		args = append(args, "-device", hba+",id=scsi0")
	case DiskAHCI:
		args = append(args, "-device", "ich9-ahci,id=sata0")
	}
	args = append(args, disks...)
	device := func(drive string, index int) string {
		switch controller {
		case DiskVirtioSCSI, DiskPVSCSI, DiskLSI:
			return fmt.Sprintf("scsi-hd,bus=scsi0.0,scsi-id=%d,drive=%s", index, drive)
		case DiskAHCI:
			return fmt.Sprintf("ide-hd,bus=sata0.%d,drive=%s", index, drive)
		case DiskIDE:
			return fmt.Sprintf("ide-hd,bus=ide.0,unit=%d,drive=%s", index, drive)
		}
		return "virtio-blk-pci,drive=" + drive
	}
	args = append(args, "-device", device("disk0", 0)+",bootindex=0")
	if seed != "" {
		args = append(args, "-device", device("seed", 1))
	}
	return args
}

// escape doubles the commas of a file name inside a QEMU option value.
func escape(path string) string { return strings.ReplaceAll(path, ",", ",,") }

package kvm

import (
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// installerMedia are the installer build's removable media: the ISO, the
// cd_files CD and the floppy (empty when absent).
type installerMedia struct {
	Interface string // virtio-scsi | sata
	ISO, CD   string
	Floppy    string
}

// installerMediaArgs attaches the installer's media to QEMU. The ISO gets
// bootindex 1, after the build disk's 0: on the first boot the blank disk
// has nothing to boot and the firmware (SeaBIOS or OVMF) falls through to
// the ISO; after the installer's reboot, in the same QEMU, the installed
// disk boots. Every medium is raw data to QEMU (format=raw): never probed,
// so a file posing as an ISO cannot make QEMU open another file as a
// disk image's backing file.
func installerMediaArgs(m installerMedia) []string {
	var args []string
	bus := func(unit int) string { return fmt.Sprintf("bus=ide.%d", unit) }
	device := "ide-cd"
	if m.Interface != "sata" && (m.ISO != "" || m.CD != "") {
		args = append(args, "-device", "virtio-scsi-pci,id=cdscsi")
		bus = func(unit int) string { return fmt.Sprintf("bus=cdscsi.0,channel=0,scsi-id=0,lun=%d", unit) }
		device = "scsi-cd"
	}
	cdrom := func(id, path string, unit int, boot string) []string {
		return []string{
			"-drive", fmt.Sprintf("file=%s,if=none,id=%s,format=raw,media=cdrom,readonly=on", path, id),
			"-device", fmt.Sprintf("%s,drive=%s,%s%s", device, id, bus(unit), boot),
		}
	}
	if m.ISO != "" {
		args = append(args, cdrom("installer", m.ISO, 0, ",bootindex=1")...)
	}
	if m.CD != "" {
		args = append(args, cdrom("cdfiles", m.CD, 1, "")...)
	}
	if m.Floppy != "" {
		args = append(args,
			"-drive", "file="+m.Floppy+",if=none,id=floppy0,format=raw",
			"-device", "isa-fdc", "-device", "floppy,drive=floppy0,unit=0")
	}
	return args
}

// installerMediaFromState collects the media the installer steps wrote;
// a cloud-image build (no cdromInterface) has none.
func installerMediaFromState(cdromInterface string, state multistep.StateBag) installerMedia {
	if cdromInterface == "" {
		return installerMedia{}
	}
	return installerMedia{
		Interface: cdromInterface,
		ISO:       keySourceImagePath.Get(state),
		CD:        keyCDPath.Get(state),
		Floppy:    keyFloppyPath.Get(state),
	}
}

package qemu

import (
	"strings"
	"testing"
)

func installerCmdline(m InstallerMedia) string {
	media := testMedia()
	media.Seed = ""
	media.Installer = m
	return strings.Join(Args(testSpec(), media), " ")
}

func TestQemuArgs_installerISOBootsAfterTheDisk(t *testing.T) {
	cmdline := installerCmdline(InstallerMedia{Interface: "virtio-scsi", ISO: "/c/installer.iso", CD: "/o/cd.iso"})
	for _, want := range []string{
		"virtio-blk-pci,drive=disk0,bootindex=0",
		"-device virtio-scsi-pci,id=cdscsi",
		"file=/c/installer.iso,if=none,id=installer,format=raw,media=cdrom,readonly=on",
		"scsi-cd,drive=installer,bus=cdscsi.0,channel=0,scsi-id=0,lun=0,bootindex=1",
		"file=/o/cd.iso,if=none,id=cdfiles,format=raw,media=cdrom,readonly=on",
		"scsi-cd,drive=cdfiles,bus=cdscsi.0,channel=0,scsi-id=0,lun=1",
	} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	if strings.Contains(cmdline, "id=seed") {
		t.Errorf("an installer build has no cloud-init seed:\n%s", cmdline)
	}
	if strings.Count(cmdline, "bootindex=") != 2 {
		t.Errorf("only the disk and the installer ISO may be boot devices:\n%s", cmdline)
	}
}

func TestQemuArgs_sataCDROMsAndFloppy(t *testing.T) {
	cmdline := installerCmdline(InstallerMedia{Interface: "sata", ISO: "/c/win.iso", CD: "/o/cd.iso", Floppy: "/o/floppy.img"})
	for _, want := range []string{
		"ide-cd,drive=installer,bus=ide.0,bootindex=1",
		"ide-cd,drive=cdfiles,bus=ide.1",
		"file=/o/floppy.img,if=none,id=floppy0,format=raw",
		"-device isa-fdc -device floppy,drive=floppy0,unit=0",
	} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	if strings.Contains(cmdline, "virtio-scsi") {
		t.Errorf("sata CD-ROMs need no virtio-scsi controller:\n%s", cmdline)
	}
}

func TestQemuArgs_cloudImageBuildsHaveNoInstallerMedia(t *testing.T) {
	cmdline := strings.Join(Args(testSpec(), testMedia()), " ")
	for _, unwanted := range []string{"media=cdrom", "scsi", "floppy"} {
		if strings.Contains(cmdline, unwanted) {
			t.Errorf("a cloud-image build has %q:\n%s", unwanted, cmdline)
		}
	}
}

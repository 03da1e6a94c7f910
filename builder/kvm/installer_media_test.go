package kvm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func installerCmdline(m installerMedia) string {
	media := testMedia()
	media.Seed = ""
	media.Installer = m
	return strings.Join(qemuArgs(testSpec(), media), " ")
}

func TestQemuArgs_installerISOBootsAfterTheDisk(t *testing.T) {
	cmdline := installerCmdline(installerMedia{Interface: "virtio-scsi", ISO: "/c/installer.iso", CD: "/o/cd.iso"})
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
	cmdline := installerCmdline(installerMedia{Interface: "sata", ISO: "/c/win.iso", CD: "/o/cd.iso", Floppy: "/o/floppy.img"})
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
	cmdline := strings.Join(qemuArgs(testSpec(), testMedia()), " ")
	for _, unwanted := range []string{"media=cdrom", "scsi", "floppy"} {
		if strings.Contains(cmdline, unwanted) {
			t.Errorf("a cloud-image build has %q:\n%s", unwanted, cmdline)
		}
	}
}

func TestStepRunVM_attachesTheInstallerMediaAndPublishesVNC(t *testing.T) {
	state, driver := testState(t)
	dir := t.TempDir()
	keyWorkDir.Put(state, dir)
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, dir+"/disk.qcow2")
	keySourceImagePath.Put(state, "/cache/installer.iso")
	keyCDPath.Put(state, dir+"/cd.iso")
	keySSHHostPort.Put(state, 2999)
	spec := testSpec()
	spec.VNC, spec.CDROMInterface = true, "virtio-scsi"
	step := &stepRunVM{Spec: spec}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted without a seed: %v", stateErr(state))
	}
	defer step.Cleanup(state)
	cmdline := strings.Join(driver.StartArgs, " ")
	for _, want := range []string{"file=/cache/installer.iso,if=none,id=installer", "file=" + dir + "/cd.iso,if=none,id=cdfiles"} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	port, ok := keyVNCPort.GetOk(state)
	if !ok || !strings.Contains(cmdline, fmt.Sprintf("-vnc 127.0.0.1:%d", port-5900)) {
		t.Fatalf("vnc_port %v does not match the command line:\n%s", keyVNCPort.Get(state), cmdline)
	}
}

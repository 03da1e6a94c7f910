package qemu

import (
	"strings"
	"testing"
)

func testMedia() Media {
	return Media{Accelerator: "tcg", Overlay: "/o/disk.qcow2", Seed: "/o/seed.iso", SSHHostPort: 3022,
		QMPSocket: "/tmp/q/qmp.sock", SerialLog: "/o/serial.log", VNCDisplay: -1}
}

func testSpec() Spec {
	return Spec{Name: "packer-base", MachineType: "q35", CPUs: 2, MemoryMiB: 2048}
}

func TestQemuArgs_safeHeadlessDefaults(t *testing.T) {
	cmdline := strings.Join(Args(testSpec(), testMedia()), " ")
	for _, want := range []string{
		"hostfwd=tcp:127.0.0.1:3022-:22", // loopback only
		"-display none",
		"-accel tcg -cpu max",
		"-smp 2 -m 2048M",
		"-qmp unix:/tmp/q/qmp.sock,server=on,wait=off",
		"file=/o/seed.iso,if=none,id=seed,format=raw,readonly=on",
		"discard=unmap",
	} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	for _, unwanted := range []string{"-vnc", "pflash", "hostfwd=tcp::"} {
		if strings.Contains(cmdline, unwanted) {
			t.Errorf("command line has %q by default:\n%s", unwanted, cmdline)
		}
	}
}

// Firmware that requires SMM without Secure Boot variables (the golden
// case x86_64-uefi-smm-descriptor-qcow2 has both) gets SMM, and its
// variables flash stays writable by the guest.
func TestQemuArgs_smmWithoutSecureVars(t *testing.T) {
	m := testMedia()
	m.EFICode, m.EFIVars = "/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2", "/o/efivars.qcow2"
	m.EFIFormats = [2]string{"qcow2", "qcow2"}
	m.EFISMM = true
	if cmdline := strings.Join(Args(testSpec(), m), " "); !strings.Contains(cmdline, "-machine smm=on") || strings.Contains(cmdline, "cfi.pflash01") {
		t.Errorf("SMM without secure vars:\n%s", cmdline)
	}
}

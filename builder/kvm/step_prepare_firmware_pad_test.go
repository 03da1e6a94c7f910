package kvm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// Homebrew's edk2-aarch64-code.fd is shorter than the `virt` board's 64 MiB
// flash bank: the build maps a padded copy and leaves the shared file alone.
func TestStepPrepareFirmware_padsShortFilesToTheFlashBank(t *testing.T) {
	state, _ := testState(t)
	fw, work := t.TempDir(), t.TempDir()
	keyWorkDir.Put(state, work)
	code, vars := filepath.Join(fw, "edk2-aarch64-code.fd"), filepath.Join(fw, "edk2-arm-vars.fd")
	os.WriteFile(code, []byte("code"), 0o644)
	os.WriteFile(vars, []byte("vars"), 0o644)
	const bank = 1 << 20
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: [][2]string{{code, vars}}, PadTo: bank, Packages: "qemu-efi-aarch64"}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	mapped := keyEFICode.Get(state)
	if !strings.HasPrefix(mapped, work) {
		t.Fatalf("efi_code %s is not the build's padded copy", mapped)
	}
	for _, f := range []string{mapped, keyEFIVars.Get(state)} {
		data, _ := os.ReadFile(f)
		if len(data) != bank || !bytes.Equal(bytes.TrimRight(data, "\x00"), data[:4]) {
			t.Errorf("%s: %d bytes starting %q, want the file zero-padded to %d", f, len(data), data[:min(4, len(data))], bank)
		}
	}
	if fileSize(code) != 4 {
		t.Error("the shared code file was modified")
	}
}

func TestStepPrepareFirmware_fullSizeCodeIsMappedInPlace(t *testing.T) {
	state, _ := testState(t)
	fw, work := t.TempDir(), t.TempDir()
	keyWorkDir.Put(state, work)
	code, vars := filepath.Join(fw, "AAVMF_CODE.fd"), filepath.Join(fw, "AAVMF_VARS.fd")
	os.WriteFile(code, make([]byte, 4096), 0o644)
	os.WriteFile(vars, make([]byte, 4096), 0o644)
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: [][2]string{{code, vars}}, PadTo: 4096}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue || keyEFICode.Get(state) != code {
		t.Fatalf("efi_code %v (err %v), want %s", keyEFICode.Get(state), stateErr(state), code)
	}
}

func TestStepPrepareFirmware_oversizedFirmwareIsRefused(t *testing.T) {
	state, _ := testState(t)
	fw := t.TempDir()
	keyWorkDir.Put(state, t.TempDir())
	code, vars := filepath.Join(fw, "CODE.fd"), filepath.Join(fw, "VARS.fd")
	os.WriteFile(code, make([]byte, 8192), 0o644)
	os.WriteFile(vars, make([]byte, 10), 0o644)
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: [][2]string{{code, vars}}, PadTo: 4096}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "larger than the 4096-byte flash bank") {
		t.Fatalf("error %v", stateErr(state))
	}
}

func TestStepPrepareFirmware_missingAAVMFNamesItsPackages(t *testing.T) {
	state, _ := testState(t)
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: [][2]string{{"/nonexistent/CODE.fd", "/nonexistent/VARS.fd"}}, Packages: qemu.ArchAArch64.FirmwarePackages}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "qemu-efi-aarch64 (Debian, Ubuntu)") {
		t.Fatalf("error %v", stateErr(state))
	}
}

// The table finds the firmware Debian's qemu-efi-aarch64 installs, when it is.
func TestArchAArch64_findsDebianAAVMF(t *testing.T) {
	if !fileExists("/usr/share/AAVMF/AAVMF_CODE.fd") {
		t.Skip("qemu-efi-aarch64 is not installed")
	}
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: qemu.ArchAArch64.Firmware, PadTo: qemu.ArchAArch64.FirmwareSize}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue || keyEFICode.Get(state) != "/usr/share/AAVMF/AAVMF_CODE.fd" {
		t.Fatalf("efi_code %v (err %v)", keyEFICode.Get(state), stateErr(state))
	}
	if fileSize(keyEFIVars.Get(state)) != 64<<20 {
		t.Fatal("the variables copy is not a full flash bank")
	}
}

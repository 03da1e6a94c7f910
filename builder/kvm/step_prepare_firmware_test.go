package kvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

func TestStepPrepareFirmware_findsOVMFAndCopiesItsVariables(t *testing.T) {
	state, _ := testState(t)
	fw, work := t.TempDir(), t.TempDir()
	keyWorkDir.Put(state, work)
	code, vars := filepath.Join(fw, "OVMF_CODE_4M.fd"), filepath.Join(fw, "OVMF_VARS_4M.fd")
	os.WriteFile(code, []byte("code"), 0o644)
	os.WriteFile(vars, []byte("vars template"), 0o644)
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: [][2]string{{"/nonexistent/CODE.fd", "/nonexistent/VARS.fd"}, {code, vars}}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if keyEFICode.Get(state) != code {
		t.Fatalf("efi_code %v", keyEFICode.Get(state))
	}
	copied := keyEFIVars.Get(state)
	if !strings.HasPrefix(copied, work) {
		t.Fatalf("the build writes to the shared variables template %s", copied)
	}
	if data, _ := os.ReadFile(copied); string(data) != "vars template" {
		t.Fatalf("variables copy holds %q", data)
	}
}

func TestStepPrepareFirmware_missingOVMFNamesThePackage(t *testing.T) {
	state, _ := testState(t)
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: [][2]string{{"/nonexistent/CODE.fd", "/nonexistent/VARS.fd"}}}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "apt-get install ovmf") {
		t.Fatalf("error %v", stateErr(state))
	}
}

func TestStepPrepareFirmware_biosNeedsNothing(t *testing.T) {
	state, _ := testState(t)
	if action := (&stepPrepareFirmware{Firmware: "bios"}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatal("bios halted")
	}
	if _, ok := keyEFICode.GetOk(state); ok {
		t.Fatal("bios build got UEFI firmware")
	}
}

func TestStepPrepareFirmware_missingAAVMFNamesItsPackages(t *testing.T) {
	state, _ := testState(t)
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: [][2]string{{"/nonexistent/CODE.fd", "/nonexistent/VARS.fd"}}, Packages: qemu.ArchAArch64.FirmwarePackages}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "qemu-efi-aarch64 (Debian, Ubuntu)") {
		t.Fatalf("error %v", stateErr(state))
	}
}

// fullFlashBank reports whether the file is a full 64 MiB aarch64 flash bank.
func fullFlashBank(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() == 64<<20
}

// The table finds the firmware Debian's qemu-efi-aarch64 installs, when it is.
func TestArchAArch64_findsDebianAAVMF(t *testing.T) {
	if !fileutil.Exists("/usr/share/AAVMF/AAVMF_CODE.fd") {
		t.Skip("qemu-efi-aarch64 is not installed")
	}
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	step := &stepPrepareFirmware{Firmware: "uefi", Candidates: qemu.ArchAArch64.Firmware, PadTo: qemu.ArchAArch64.FirmwareSize}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue || keyEFICode.Get(state) != "/usr/share/AAVMF/AAVMF_CODE.fd" {
		t.Fatalf("efi_code %v (err %v)", keyEFICode.Get(state), stateErr(state))
	}
	if !fullFlashBank(keyEFIVars.Get(state)) {
		t.Fatal("the variables copy is not a full flash bank")
	}
}

package kvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/firmware"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// The descriptor fixture sets of internal/firmware (its testdata/README.md
// says where each comes from), used as file-system roots.
var (
	fedoraRoot = filepath.Join("..", "..", "internal", "firmware", "testdata", "fedora")
	ubuntuRoot = filepath.Join("..", "..", "internal", "firmware", "testdata", "ubuntu-24.04")
)

// descriptorStep is a UEFI step that reads the system directories under root.
func descriptorStep(root, arch, machine string) *stepPrepareFirmware {
	return &stepPrepareFirmware{Firmware: "uefi", Arch: arch, MachineType: machine,
		DescriptorRoot: root, DescriptorDirs: []string{firmware.SysconfDir, firmware.DistroDir}}
}

func runFirmwareStep(t *testing.T, step *stepPrepareFirmware) (multistep.StateBag, multistep.StepAction) {
	t.Helper()
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	return state, step.Run(context.Background(), state)
}

func TestStepPrepareFirmware_descriptorChoosesSecureBootWithEnrolledKeys(t *testing.T) {
	step := descriptorStep(ubuntuRoot, "x86_64", "q35")
	step.SecureBoot = true
	state, action := runFirmwareStep(t, step)
	if action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if got, want := keyEFICode.Get(state), filepath.Join(ubuntuRoot, "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"); got != want {
		t.Fatalf("efi_code %v, want %s", got, want)
	}
	if data, _ := os.ReadFile(keyEFIVars.Get(state)); !strings.Contains(string(data), "OVMF_VARS_4M.ms.fd") {
		t.Fatalf("the variables copy holds %q, want the enrolled keys", data)
	}
	if keyEFISMM.Get(state) != true || keyEFISecureVars.Get(state) != true {
		t.Fatal("the Secure Boot build's SMM requirement is not passed on")
	}
	if out := uiOutput(state); !strings.Contains(out, "UEFI firmware with Secure Boot") || !strings.Contains(out, "40-edk2-x86_64-secure-enrolled.json") {
		t.Fatalf("UI:\n%s", out)
	}
}

// Fedora's 4 MiB OVMF is qcow2: mapped as qcow2, its variables copied as
// qcow2 (firmware.TestChoose_qcow2FirmwareKeepsItsFormat: never padded).
func TestStepPrepareFirmware_qcow2FirmwareKeepsItsFormat(t *testing.T) {
	state, action := runFirmwareStep(t, descriptorStep(fedoraRoot, "x86_64", "q35"))
	if action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if got, want := keyEFICode.Get(state), filepath.Join(fedoraRoot, "/usr/share/edk2/ovmf/OVMF_CODE_4M.qcow2"); got != want {
		t.Fatalf("efi_code %v, want %s", got, want)
	}
	if vars := keyEFIVars.Get(state); filepath.Base(vars) != "efivars.qcow2" || keyEFICodeFormat.Get(state) != "qcow2" || keyEFIVarsFormat.Get(state) != "qcow2" {
		t.Fatalf("efi_vars %s, formats %v/%v", vars, keyEFICodeFormat.Get(state), keyEFIVarsFormat.Get(state))
	}
}

func TestStepPrepareFirmware_noMatchingDescriptorSaysWhatAndHow(t *testing.T) {
	step := descriptorStep(ubuntuRoot, "x86_64", "microvm")
	step.Packages = qemu.ArchX8664.FirmwarePackages
	state, action := runFirmwareStep(t, step)
	if action != multistep.ActionHalt {
		t.Fatal("no error")
	}
	msg := stateErr(state).Error()
	for _, want := range []string{
		`firmware = "uefi" but no UEFI firmware fits this VM`,
		"UEFI firmware for x86_64 machine microvm",
		"60-edk2-x86_64.json: for x86_64 machines pc-i440fx-*, pc-q35-*, not microvm",
		"40-edk2-aarch64-secure-enrolled.json: for aarch64, not x86_64",
		"Fix: install the ovmf package (apt-get install ovmf) or edk2-ovmf (dnf install edk2-ovmf), or set efi_firmware_code and efi_firmware_vars",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	step = descriptorStep(fedoraRoot, "aarch64", "virt")
	step.SecureBoot = true
	state, _ = runFirmwareStep(t, step)
	if msg := stateErr(state).Error(); !strings.Contains(msg, "secure_boot = true but no UEFI firmware fits") || !strings.Contains(msg, "50-edk2-aarch64-qcow2.json: lacks feature secure-boot") {
		t.Errorf("Secure Boot error:\n%s", msg)
	}
}

// The machine's real descriptors (Debian's qemu-efi-aarch64): AAVMF, 64 MiB
// raw files, the variables copy a full flash bank.
func TestStepPrepareFirmware_installedAAVMFDescriptor(t *testing.T) {
	if !fileutil.Exists(filepath.Join(firmware.DistroDir, "60-edk2-aarch64.json")) {
		t.Skip("qemu-efi-aarch64 is not installed")
	}
	step := &stepPrepareFirmware{Firmware: "uefi", Arch: "aarch64", MachineType: qemu.ArchAArch64.Machine,
		PadTo: qemu.ArchAArch64.FirmwareSize, DescriptorDirs: []string{firmware.DistroDir}}
	state, action := runFirmwareStep(t, step)
	if action != multistep.ActionContinue || keyEFICode.Get(state) != "/usr/share/AAVMF/AAVMF_CODE.fd" {
		t.Fatalf("efi_code %v (err %v)", keyEFICode.Get(state), stateErr(state))
	}
	if !fullFlashBank(keyEFIVars.Get(state)) {
		t.Fatal("the variables copy is not a full flash bank")
	}
}

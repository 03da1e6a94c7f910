package kvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

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

// Ubuntu 24.04 (and Debian 12): the plain 4 MiB build, raw, described by
// 60-edk2-x86_64.json, and the UI says so.
func TestStepPrepareFirmware_descriptorChoosesThePlainBuild(t *testing.T) {
	state, action := runFirmwareStep(t, descriptorStep(ubuntuRoot, "x86_64", "q35"))
	if action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if got, want := keyEFICode.Get(state), filepath.Join(ubuntuRoot, "/usr/share/OVMF/OVMF_CODE_4M.fd"); got != want {
		t.Fatalf("efi_code %v, want %s", got, want)
	}
	vars := keyEFIVars.Get(state)
	if filepath.Base(vars) != "efivars.fd" || keyEFICodeFormat.Get(state) != "raw" || keyEFIVarsFormat.Get(state) != "raw" || keyEFISMM.Get(state) != false {
		t.Fatalf("efi_vars %s, formats %v/%v, smm %v", vars, keyEFICodeFormat.Get(state), keyEFIVarsFormat.Get(state), keyEFISMM.Get(state))
	}
	if data, _ := os.ReadFile(vars); !strings.Contains(string(data), "OVMF_VARS_4M.fd") {
		t.Fatalf("the variables copy holds %q", data)
	}
	if out := uiOutput(state); !strings.Contains(out, "QEMU firmware descriptor "+filepath.Join(ubuntuRoot, "usr/share/qemu/firmware/60-edk2-x86_64.json")) {
		t.Fatalf("the UI does not name the descriptor:\n%s", out)
	}
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
// qcow2, and (on an aarch64 board with fixed flash banks) never padded.
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

	step := descriptorStep(fedoraRoot, "aarch64", qemu.ArchAArch64.Machine)
	step.PadTo = qemu.ArchAArch64.FirmwareSize
	state, action = runFirmwareStep(t, step)
	if action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	code := filepath.Join(fedoraRoot, "/usr/share/edk2/aarch64/QEMU_EFI-silent-pflash.qcow2")
	if keyEFICode.Get(state) != code {
		t.Fatalf("efi_code %v, want the shared qcow2 file %s, unpadded", keyEFICode.Get(state), code)
	}
	vars := keyEFIVars.Get(state)
	if want := fileSize(filepath.Join(fedoraRoot, "/usr/share/edk2/aarch64/vars-template-pflash.qcow2")); fileSize(vars) != want {
		t.Fatalf("the qcow2 variables copy is %d bytes, want the template's %d (padding corrupts qcow2)", fileSize(vars), want)
	}
}

// Descriptors come first: the path lists are only for hosts without any.
func TestStepPrepareFirmware_descriptorsWinOverThePathLists(t *testing.T) {
	fw := t.TempDir()
	code, vars := filepath.Join(fw, "CODE.fd"), filepath.Join(fw, "VARS.fd")
	os.WriteFile(code, []byte("c"), 0o644)
	os.WriteFile(vars, []byte("v"), 0o644)
	step := descriptorStep(ubuntuRoot, "x86_64", "q35")
	step.Candidates = [][2]string{{code, vars}}
	state, action := runFirmwareStep(t, step)
	if action != multistep.ActionContinue || keyEFICode.Get(state) == code {
		t.Fatalf("efi_code %v (err %v), want the descriptor's", keyEFICode.Get(state), stateErr(state))
	}

	// Without descriptor files, the list is searched.
	step = descriptorStep(t.TempDir(), "x86_64", "q35")
	step.Candidates = [][2]string{{code, vars}}
	state, action = runFirmwareStep(t, step)
	if action != multistep.ActionContinue || keyEFICode.Get(state) != code {
		t.Fatalf("efi_code %v (err %v), want the list's %s", keyEFICode.Get(state), stateErr(state), code)
	}
	if out := uiOutput(state); strings.Contains(out, "QEMU firmware descriptor") {
		t.Fatalf("UI names a descriptor:\n%s", out)
	}
}

// An administrator who masks every descriptor does not get the path lists
// behind their back.
func TestStepPrepareFirmware_maskedDescriptorsDoNotFallBack(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, firmware.SysconfDir)
	os.MkdirAll(etc, 0o755)
	os.WriteFile(filepath.Join(etc, "60-edk2-x86_64.json"), nil, 0o644)
	fw := t.TempDir()
	code, vars := filepath.Join(fw, "CODE.fd"), filepath.Join(fw, "VARS.fd")
	os.WriteFile(code, []byte("c"), 0o644)
	os.WriteFile(vars, []byte("v"), 0o644)
	step := descriptorStep(root, "x86_64", "q35")
	step.Candidates = [][2]string{{code, vars}}
	if state, action := runFirmwareStep(t, step); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "masked") {
		t.Fatalf("action %v, err %v", action, stateErr(state))
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

// efi_firmware_code and efi_firmware_vars win over the descriptors; one of
// them alone takes the other file from the descriptor, and a qcow2 file is
// recognised as qcow2.
func TestStepPrepareFirmware_optionsWinOverDescriptors(t *testing.T) {
	fw := t.TempDir()
	code, vars := filepath.Join(fw, "MY_CODE.qcow2"), filepath.Join(fw, "MY_VARS.fd")
	os.WriteFile(code, []byte("QFI\xfb\x00\x00\x00\x03rest"), 0o644)
	os.WriteFile(vars, []byte("vars"), 0o644)
	step := descriptorStep(ubuntuRoot, "x86_64", "q35")
	step.CodePath, step.VarsPath = code, vars
	state, action := runFirmwareStep(t, step)
	if action != multistep.ActionContinue || keyEFICode.Get(state) != code || keyEFICodeFormat.Get(state) != "qcow2" || keyEFIVarsFormat.Get(state) != "raw" {
		t.Fatalf("efi_code %v %v, vars format %v (err %v)", keyEFICode.Get(state), keyEFICodeFormat.Get(state), keyEFIVarsFormat.Get(state), stateErr(state))
	}
	if strings.Contains(uiOutput(state), "QEMU firmware descriptor") {
		t.Fatalf("UI names a descriptor:\n%s", uiOutput(state))
	}

	step = descriptorStep(ubuntuRoot, "x86_64", "q35")
	step.SecureBoot, step.CodePath = true, code
	state, action = runFirmwareStep(t, step)
	if action != multistep.ActionContinue || keyEFICode.Get(state) != code {
		t.Fatalf("efi_code %v (err %v)", keyEFICode.Get(state), stateErr(state))
	}
	if data, _ := os.ReadFile(keyEFIVars.Get(state)); !strings.Contains(string(data), "OVMF_VARS_4M.ms.fd") {
		t.Fatalf("the variables copy holds %q, want the descriptor's enrolled template", data)
	}
	if keyEFISMM.Get(state) == true {
		t.Fatal("SMM taken from a descriptor whose code is not used")
	}
}

// The machine's real descriptors (Debian's qemu-efi-aarch64): AAVMF, 64 MiB
// raw files, the variables copy a full flash bank.
func TestStepPrepareFirmware_installedAAVMFDescriptor(t *testing.T) {
	if !fileExists(filepath.Join(firmware.DistroDir, "60-edk2-aarch64.json")) {
		t.Skip("qemu-efi-aarch64 is not installed")
	}
	step := &stepPrepareFirmware{Firmware: "uefi", Arch: "aarch64", MachineType: qemu.ArchAArch64.Machine,
		PadTo: qemu.ArchAArch64.FirmwareSize, DescriptorDirs: []string{firmware.DistroDir}}
	state, action := runFirmwareStep(t, step)
	if action != multistep.ActionContinue || keyEFICode.Get(state) != "/usr/share/AAVMF/AAVMF_CODE.fd" {
		t.Fatalf("efi_code %v (err %v)", keyEFICode.Get(state), stateErr(state))
	}
	if fileSize(keyEFIVars.Get(state)) != 64<<20 {
		t.Fatal("the variables copy is not a full flash bank")
	}
}

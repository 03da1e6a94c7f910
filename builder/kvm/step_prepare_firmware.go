package kvm

import (
	"cmp"
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/firmware"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// stepPrepareFirmware finds the UEFI firmware for UEFI builds and gives the
// build its own copy of the variables file, which the guest writes to
// (internal/firmware: Choose, CopyVars, PadToBank).
//
// efi_firmware_code and efi_firmware_vars (CodePath, VarsPath) win. The
// rest comes from QEMU's firmware descriptors when the host has any in
// DescriptorDirs, matched against Arch, MachineType and SecureBoot; only a
// host without descriptors (macOS, Windows, the BSDs, distributions that
// ship none) falls back on Candidates, the host OS's list in
// internal/qemu's firmware_paths_*.go (SecureBootCandidates with
// SecureBoot).
//
// For UEFI it reads ui and work_dir, and writes efi_code, efi_vars, their
// formats efi_code_format and efi_vars_format ("raw" or "qcow2"), efi_smm
// (whether the firmware requires SMM) and efi_secure_vars (state.go).
type stepPrepareFirmware struct {
	Firmware             string
	CodePath             string
	VarsPath             string
	Candidates           [][2]string
	SecureBoot           bool
	SecureBootCandidates [][2]string
	// PadTo is the size the machine's flash banks need (0: none); smaller
	// raw files are padded in the work directory (firmware.PadToBank).
	PadTo int64
	// Packages names what to install when no firmware is found (OVMF's
	// package when empty).
	Packages string
	// Arch and MachineType are the VM's, which descriptors must target
	// ("" is x86_64 and q35).
	Arch, MachineType string
	// DescriptorDirs are the firmware descriptor directories, most specific
	// first (firmware.DefaultDirs() in a build); without any, only the
	// candidates are searched.
	DescriptorDirs []string
	// DescriptorRoot prefixes the directories and the file names the
	// descriptors give (tests).
	DescriptorRoot string
}

func (s *stepPrepareFirmware) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if s.Firmware != "uefi" {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	workDir := keyWorkDir.Get(state)
	fw, err := firmware.Choose(s.request())
	if err != nil {
		return halt(state, err)
	}
	varsCopy, err := firmware.CopyVars(fw.Vars, workDir)
	if err != nil {
		return halt(state, err)
	}
	flashCode, err := firmware.PadToBank(fw.Code, varsCopy, s.PadTo, workDir)
	if err != nil {
		return halt(state, err)
	}
	ui.Say(fw.Describe(s.SecureBoot))
	keyEFICode.Put(state, flashCode)
	keyEFIVars.Put(state, varsCopy.Filename)
	keyEFICodeFormat.Put(state, fw.Code.Format)
	keyEFIVarsFormat.Put(state, fw.Vars.Format)
	keyEFISMM.Put(state, fw.SMM)
	keyEFISecureVars.Put(state, fw.SecureVars)
	return multistep.ActionContinue
}

func (s *stepPrepareFirmware) Cleanup(multistep.StateBag) {}

// request is what the step asks of internal/firmware, the VM's defaults
// filled in.
func (s *stepPrepareFirmware) request() firmware.Request {
	return firmware.Request{
		CodePath:             s.CodePath,
		VarsPath:             s.VarsPath,
		Arch:                 cmp.Or(s.Arch, qemu.ArchX8664.Name),
		Machine:              cmp.Or(s.MachineType, qemu.ArchX8664.Machine),
		SecureBoot:           s.SecureBoot,
		DescriptorDirs:       s.DescriptorDirs,
		DescriptorRoot:       s.DescriptorRoot,
		Candidates:           s.Candidates,
		SecureBootCandidates: s.SecureBootCandidates,
		InstallHint:          s.installHint(),
	}
}

// installHint says what to install for the VM's firmware: Packages (a
// noun phrase, "qemu-efi-aarch64 (Debian, Ubuntu), ...") or the host's
// OVMF hint.
func (s *stepPrepareFirmware) installHint() string {
	if s.Packages == "" {
		return qemu.OVMFInstallHint
	}
	return "install " + s.Packages
}

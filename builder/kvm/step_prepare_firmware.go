package kvm

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/firmware"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// ovmfSecureBootCandidates are OVMF's Secure Boot builds (SMM required)
// with a variables template that has Microsoft's and the distribution's
// keys enrolled: Debian/Ubuntu ship *.secboot.fd with *.ms.fd, Fedora/RHEL
// *.secboot.fd with *.secboot.fd vars. Like the host's Candidates, they are
// searched only where QEMU's firmware descriptors are not installed.
var ovmfSecureBootCandidates = [][2]string{
	{"/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"},
	{"/usr/share/OVMF/OVMF_CODE.secboot.fd", "/usr/share/OVMF/OVMF_VARS.ms.fd"},
	{"/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"},
}

// secureBootInstallHint says where OVMF's Secure Boot build comes from.
const secureBootInstallHint = "install the ovmf package (apt-get install ovmf: OVMF_CODE_4M.secboot.fd and OVMF_VARS_4M.ms.fd; dnf install edk2-ovmf)"

// stepPrepareFirmware finds the UEFI firmware for UEFI builds and gives the
// build its own copy of the variables file, which the guest writes to.
//
// efi_firmware_code and efi_firmware_vars (CodePath, VarsPath) win. The
// rest comes from QEMU's firmware descriptors (internal/firmware) when the
// host has any in DescriptorDirs, matched against Arch, MachineType and
// SecureBoot; only a host without descriptors (macOS, Windows, the BSDs,
// distributions that ship none) falls back on Candidates, the host OS's
// list in firmware_paths_*.go (SecureBootCandidates with SecureBoot).
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
	// raw files are padded in the work directory
	// (step_prepare_firmware_pad.go).
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

// efiFirmware is the firmware a build maps, and how.
type efiFirmware struct {
	Code, Vars firmware.FlashFile
	// Descriptor is the descriptor file that chose it ("" without one).
	Descriptor string
	// SMM and SecureVars: the code requires SMM (-machine smm=on), and its
	// variables flash is to be writable from SMM only.
	SMM, SecureVars bool
}

func (s *stepPrepareFirmware) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if s.Firmware != "uefi" {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	fw, err := s.locate()
	if err != nil {
		return halt(state, err)
	}
	varsName := "efivars.fd"
	if fw.Vars.Format == "qcow2" {
		varsName = "efivars.qcow2"
	}
	varsCopy := filepath.Join(keyWorkDir.Get(state), varsName)
	if err := fileutil.CopyFile(fw.Vars.Filename, varsCopy, 0o600); err != nil {
		return halt(state, fmt.Errorf("copying the UEFI variables file: %w", err))
	}
	flashCode, err := s.padFirmware(state, fw.Code, firmware.FlashFile{Filename: varsCopy, Format: fw.Vars.Format})
	if err != nil {
		return halt(state, err)
	}
	ui.Say(fw.describe(s.SecureBoot))
	keyEFICode.Put(state, flashCode)
	keyEFIVars.Put(state, varsCopy)
	keyEFICodeFormat.Put(state, fw.Code.Format)
	keyEFIVarsFormat.Put(state, fw.Vars.Format)
	keyEFISMM.Put(state, fw.SMM)
	keyEFISecureVars.Put(state, fw.SecureVars)
	return multistep.ActionContinue
}

func (s *stepPrepareFirmware) Cleanup(multistep.StateBag) {}

// locate finds the code and variables files: the options, then the
// descriptors, or the candidates on a host without descriptors.
func (s *stepPrepareFirmware) locate() (efiFirmware, error) {
	fw := efiFirmware{
		Code: firmware.FlashFile{Filename: s.CodePath, Format: flashFormat(s.CodePath)},
		Vars: firmware.FlashFile{Filename: s.VarsPath, Format: flashFormat(s.VarsPath)},
	}
	if fw.Code.Filename != "" && fw.Vars.Filename != "" {
		return fw, nil
	}
	if len(s.DescriptorDirs) > 0 {
		if catalog := firmware.Load(s.DescriptorRoot, s.DescriptorDirs); !catalog.Empty() {
			return s.fromDescriptors(fw, catalog)
		}
	}
	candidates := s.Candidates
	if s.SecureBoot {
		candidates = s.SecureBootCandidates
	}
	for _, c := range candidates {
		if fileExists(c[0]) && fileExists(c[1]) {
			if fw.Code.Filename == "" {
				fw.Code = firmware.FlashFile{Filename: c[0], Format: flashFormat(c[0])}
			}
			if fw.Vars.Filename == "" {
				fw.Vars = firmware.FlashFile{Filename: c[1], Format: flashFormat(c[1])}
			}
			return fw, nil
		}
	}
	if s.SecureBoot {
		return fw, fmt.Errorf("secure_boot = true but OVMF's Secure Boot build was not found: %s, or set efi_firmware_code and efi_firmware_vars", secureBootInstallHint)
	}
	return fw, fmt.Errorf("firmware = \"uefi\" but UEFI firmware was not found: %s, or set efi_firmware_code and efi_firmware_vars", s.installHint())
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

// fromDescriptors completes fw with the descriptors' choice.
func (s *stepPrepareFirmware) fromDescriptors(fw efiFirmware, catalog *firmware.Catalog) (efiFirmware, error) {
	sel, err := catalog.Select(firmware.Query{
		Arch:       cmp.Or(s.Arch, qemu.ArchX8664.Name),
		Machine:    cmp.Or(s.MachineType, qemu.ArchX8664.Machine),
		SecureBoot: s.SecureBoot,
	})
	if err != nil {
		what, fix := `firmware = "uefi"`, s.installHint()
		if s.SecureBoot {
			what = "secure_boot = true"
			if cmp.Or(s.Arch, qemu.ArchX8664.Name) == qemu.ArchX8664.Name {
				fix = secureBootInstallHint
			}
		}
		return fw, fmt.Errorf("%s but no UEFI firmware fits this VM: %w\nFix: %s, or set efi_firmware_code and efi_firmware_vars", what, err, fix)
	}
	fw.Descriptor = sel.Entry.Path
	if fw.Code.Filename == "" {
		// SMM is the code's requirement: it goes with the descriptor's code.
		fw.Code, fw.SMM, fw.SecureVars = sel.Code, sel.RequiresSMM, sel.SecureVars
	}
	if fw.Vars.Filename == "" {
		fw.Vars = sel.Vars
	}
	return fw, nil
}

// describe is the UI line that says which firmware the build boots.
func (fw efiFirmware) describe(secureBoot bool) string {
	var line string
	if secureBoot {
		line = fmt.Sprintf("UEFI firmware with Secure Boot: %s, keys from %s", fw.Code.Filename, fw.Vars.Filename)
	} else {
		line = fmt.Sprintf("UEFI firmware: %s, variables from %s", fw.Code.Filename, fw.Vars.Filename)
	}
	if fw.Descriptor != "" {
		line += " (QEMU firmware descriptor " + fw.Descriptor + ")"
	}
	if fw.SMM && !secureBoot {
		line += "; it requires SMM, which the VM gets"
	}
	return line
}

// qcow2Magic starts every qcow2 image.
var qcow2Magic = []byte("QFI\xfb")

// flashFormat is the block format of a firmware file that no descriptor
// describes: qcow2 when it starts with qcow2's magic, otherwise raw (""
// for no file).
func flashFormat(path string) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return "raw"
	}
	defer f.Close()
	head := make([]byte, len(qcow2Magic))
	if _, err := io.ReadFull(f, head); err == nil && bytes.Equal(head, qcow2Magic) {
		return "qcow2"
	}
	return "raw"
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

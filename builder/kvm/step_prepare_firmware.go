package kvm

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// ovmfSecureBootCandidates are OVMF's Secure Boot builds (SMM required)
// with a variables template that has Microsoft's and the distribution's
// keys enrolled: Debian/Ubuntu ship *.secboot.fd with *.ms.fd, Fedora/RHEL
// *.secboot.fd with *.secboot.fd vars.
var ovmfSecureBootCandidates = [][2]string{
	{"/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"},
	{"/usr/share/OVMF/OVMF_CODE.secboot.fd", "/usr/share/OVMF/OVMF_VARS.ms.fd"},
	{"/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"},
}

// stepPrepareFirmware finds OVMF for UEFI builds (among Candidates, the
// host OS's list in firmware_paths_*.go; with SecureBoot among
// SecureBootCandidates instead) and gives the build its own copy of the
// variables file, which the guest writes to.
//
// It reads ui and work_dir, and writes efi_code and efi_vars.
type stepPrepareFirmware struct {
	Firmware             string
	CodePath             string
	VarsPath             string
	Candidates           [][2]string
	SecureBoot           bool
	SecureBootCandidates [][2]string
	// PadTo is the size the machine's flash banks need (0: none); smaller
	// files are padded in the work directory (step_prepare_firmware_pad.go).
	PadTo int64
	// Packages names what to install when no firmware is found (OVMF's
	// package when empty).
	Packages string
}

func (s *stepPrepareFirmware) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if s.Firmware != "uefi" {
		return multistep.ActionContinue
	}
	ui := state.Get("ui").(packersdk.Ui)
	code, vars := s.CodePath, s.VarsPath
	candidates := s.Candidates
	if s.SecureBoot {
		candidates = s.SecureBootCandidates
	}
	for _, c := range candidates {
		if code != "" && vars != "" {
			break
		}
		if fileExists(c[0]) && fileExists(c[1]) {
			code, vars = cmp.Or(code, c[0]), cmp.Or(vars, c[1])
		}
	}
	if s.SecureBoot && (code == "" || vars == "") {
		return halt(state, fmt.Errorf("secure_boot = true but OVMF's Secure Boot build was not found: install the ovmf package (apt-get install ovmf: OVMF_CODE_4M.secboot.fd and OVMF_VARS_4M.ms.fd) or set efi_firmware_code and efi_firmware_vars"))
	}
	if code == "" || vars == "" {
		return halt(state, fmt.Errorf("firmware = \"uefi\" but UEFI firmware was not found: %s, or set efi_firmware_code and efi_firmware_vars", cmp.Or(s.Packages, ovmfInstallHint)))
	}
	varsCopy := filepath.Join(state.Get("work_dir").(string), "efivars.fd")
	if err := copyFile(vars, varsCopy); err != nil {
		return halt(state, fmt.Errorf("copying the UEFI variables file: %w", err))
	}
	flashCode, err := s.padFirmware(state, code, varsCopy)
	if err != nil {
		return halt(state, err)
	}
	if s.SecureBoot {
		ui.Say(fmt.Sprintf("UEFI firmware with Secure Boot: %s, keys from %s", code, vars))
	} else {
		ui.Say(fmt.Sprintf("UEFI firmware: %s", code))
	}
	state.Put("efi_code", flashCode)
	state.Put("efi_vars", varsCopy)
	return multistep.ActionContinue
}

func (s *stepPrepareFirmware) Cleanup(multistep.StateBag) {}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

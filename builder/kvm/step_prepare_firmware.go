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

// ovmfCandidates lists where distributions put OVMF, newest layouts first:
// Debian/Ubuntu ship 4 MiB builds as *_4M.fd; Fedora/RHEL use edk2/ovmf;
// Arch and openSUSE use the edk2-ovmf and qemu paths.
var ovmfCandidates = [][2]string{
	{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
	{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
	{"/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"},
	{"/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"},
	{"/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd"},
	{"/usr/share/qemu/ovmf-x86_64-code.bin", "/usr/share/qemu/ovmf-x86_64-vars.bin"},
}

// stepPrepareFirmware finds OVMF for UEFI builds and gives the build its
// own copy of the variables file, which the guest writes to.
type stepPrepareFirmware struct {
	Firmware   string
	CodePath   string
	VarsPath   string
	Candidates [][2]string
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
	for _, c := range s.Candidates {
		if code != "" && vars != "" {
			break
		}
		if fileExists(c[0]) && fileExists(c[1]) {
			code, vars = cmp.Or(code, c[0]), cmp.Or(vars, c[1])
		}
	}
	if code == "" || vars == "" {
		return halt(state, fmt.Errorf("firmware = \"uefi\" but UEFI firmware was not found: install %s or set efi_firmware_code and efi_firmware_vars", cmp.Or(s.Packages, "the ovmf package (apt-get install ovmf)")))
	}
	varsCopy := filepath.Join(state.Get("work_dir").(string), "efivars.fd")
	if err := copyFile(vars, varsCopy); err != nil {
		return halt(state, fmt.Errorf("copying the UEFI variables file: %w", err))
	}
	flashCode, err := s.padFirmware(state, code, varsCopy)
	if err != nil {
		return halt(state, err)
	}
	ui.Say(fmt.Sprintf("UEFI firmware: %s", code))
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

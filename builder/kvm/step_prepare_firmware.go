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

// stepPrepareFirmware finds OVMF for UEFI builds (among Candidates, the
// host OS's list in firmware_paths_*.go) and gives the build its own copy
// of the variables file, which the guest writes to.
//
// It reads ui and work_dir, and writes efi_code and efi_vars.
type stepPrepareFirmware struct {
	Firmware   string
	CodePath   string
	VarsPath   string
	Candidates [][2]string
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
		return halt(state, fmt.Errorf("firmware = \"uefi\" but OVMF was not found: %s, or set efi_firmware_code and efi_firmware_vars", ovmfInstallHint))
	}
	varsCopy := filepath.Join(state.Get("work_dir").(string), "efivars.fd")
	if err := copyFile(vars, varsCopy); err != nil {
		return halt(state, fmt.Errorf("copying the UEFI variables file: %w", err))
	}
	ui.Say(fmt.Sprintf("UEFI firmware: %s", code))
	state.Put("efi_code", code)
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

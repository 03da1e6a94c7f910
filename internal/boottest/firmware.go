package boottest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/firmware"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// uefiFirmware finds the UEFI firmware for the boot VM as the builder
// does: QEMU's firmware descriptors in dirs (without Secure Boot keys
// enrolled), or, on a host without descriptors, the architecture's usual
// file pairs. The variables template is copied into dir: the guest writes
// to its variables.
func uefiFirmware(h Hardware, dirs []string, dir string) (code, vars firmware.FlashFile, smm bool, err error) {
	arch := qemu.ArchByName(h.Arch)
	if catalog := firmware.Load("", dirs); len(dirs) > 0 && !catalog.Empty() {
		sel, err := catalog.Select(firmware.Query{Arch: arch.Name, Machine: h.Machine})
		if err != nil {
			return code, vars, false, fmt.Errorf("the image boots with UEFI but no UEFI firmware fits the test VM: %w", err)
		}
		code, vars, smm = sel.Code, sel.Vars, sel.RequiresSMM
	} else {
		for _, c := range arch.Firmware {
			if regular(c[0]) && regular(c[1]) {
				code, vars = firmware.FlashFile{Filename: c[0], Format: formatByName(c[0])}, firmware.FlashFile{Filename: c[1], Format: formatByName(c[1])}
				break
			}
		}
		if code.Filename == "" {
			return code, vars, false, fmt.Errorf("the image boots with UEFI but no UEFI firmware was found: install %s", arch.FirmwarePackages)
		}
	}
	copied := filepath.Join(dir, "efivars."+cmpFormat(vars.Format))
	if err := fileutil.CopyFile(vars.Filename, copied, 0o600); err != nil {
		return code, vars, false, fmt.Errorf("copying the UEFI variables: %w", err)
	}
	vars.Filename = copied
	return code, vars, smm, nil
}

func regular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func formatByName(path string) string {
	if strings.HasSuffix(path, ".qcow2") {
		return "qcow2"
	}
	return "raw"
}

func cmpFormat(format string) string {
	if format == "qcow2" {
		return "qcow2"
	}
	return "fd"
}

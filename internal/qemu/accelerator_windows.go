//go:build windows

package qemu

import (
	"fmt"
	"os"
	"path/filepath"
)

// ProbeHostAccelerator tells whether the Windows Hypervisor Platform is
// enabled: its API, WinHvPlatform.dll, is present only when the optional
// feature "Windows Hypervisor Platform" is turned on.
func ProbeHostAccelerator(accel string) error {
	dll := filepath.Join(os.Getenv("SystemRoot"), "System32", "WinHvPlatform.dll")
	if _, err := os.Stat(dll); err != nil {
		return fmt.Errorf("%s is missing: enable the Windows feature \"Windows Hypervisor Platform\"", dll)
	}
	return nil
}

//go:build darwin

package qemu

import (
	"errors"
	"os/exec"
	"strings"
)

// ProbeHostAccelerator tells whether Hypervisor.framework is available:
// macOS reports it in the kern.hv_support sysctl (0 inside most VMs).
func ProbeHostAccelerator(accel string) error {
	out, err := exec.Command("sysctl", "-n", "kern.hv_support").Output()
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(out)) != "1" {
		return errors.New("kern.hv_support is 0: this Mac (or VM) offers no Hypervisor.framework")
	}
	return nil
}

//go:build !darwin && !windows

package qemu

import "fmt"

// ProbeHostAccelerator: on Linux the driver's KVM probe decides; other
// hosts have no accelerator QEMU uses.
func ProbeHostAccelerator(accel string) error {
	return fmt.Errorf("%s is not available on this host", accel)
}

//go:build !darwin && !windows

package kvm

import "fmt"

// probeHostAccelerator: on Linux the driver's KVM probe decides; other
// hosts have no accelerator QEMU uses.
func probeHostAccelerator(accel string) error {
	return fmt.Errorf("%s is not available on this host", accel)
}

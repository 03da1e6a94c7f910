package kvm

import (
	"errors"
	"fmt"
	"runtime"
)

// validateWarmStart refuses the options warm start cannot honour.
func (c *Config) validateWarmStart() []error {
	if !c.WarmStart {
		return nil
	}
	var errs []error
	if c.OutputMode == "overlay" {
		errs = append(errs, errors.New("warm_start does not work with output_mode = \"overlay\": a warm build's disk is a chain of layers, so it is always flattened; remove warm_start or use output_mode = \"standalone\""))
	}
	// The saved state covers the VM and its boot disk only: a TPM's state
	// lives in swtpm, additional disks are not layered, and an installer
	// build has no cloud-init seed to key the booted guest by.
	for option, set := range map[string]bool{"tpm": c.TPM, "additional_disks": len(c.AdditionalDisks) > 0, "iso_url": c.isISOBuild()} {
		if set {
			errs = append(errs, fmt.Errorf("warm_start does not work with %s (the saved state holds the VM and its boot disk only): remove one of them", option))
		}
	}
	// QEMU writes and reads the saved state through a shell's `cat`.
	if runtime.GOOS == "windows" {
		errs = append(errs, errors.New("warm_start needs a POSIX host (QEMU saves the VM state through `cat`): remove warm_start on Windows"))
	}
	return errs
}

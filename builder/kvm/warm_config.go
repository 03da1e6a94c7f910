package kvm

import (
	"errors"
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
	// QEMU writes and reads the saved state through a shell's `cat`.
	if runtime.GOOS == "windows" {
		errs = append(errs, errors.New("warm_start needs a POSIX host (QEMU saves the VM state through `cat`): remove warm_start on Windows"))
	}
	return errs
}

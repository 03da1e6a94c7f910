//go:build !linux

package qemu

import "syscall"

// dieWithParent: only Linux has a parent-death signal; elsewhere QEMU is
// stopped by the build's cleanup and the VM watch alone.
func dieWithParent() *syscall.SysProcAttr { return nil }

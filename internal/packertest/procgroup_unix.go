//go:build !windows

package packertest

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup gives packer its own process group, as a terminal would,
// so a test's SIGINT reaches packer alone and the plugin's own handling is
// tested.
func ownProcessGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// InterruptGroup sends SIGINT to cmd's whole process group, as Ctrl-C in a
// terminal does: packer, the plugin and QEMU alike.
func InterruptGroup(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }

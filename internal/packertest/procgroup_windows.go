package packertest

import (
	"os"
	"os/exec"
	"syscall"
)

// ownProcessGroup: acceptance tests run on Linux; on Windows the command
// only has to compile.
func ownProcessGroup() *syscall.SysProcAttr { return nil }

// InterruptGroup: Windows has no process-group signals; interrupt packer.
func InterruptGroup(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) }

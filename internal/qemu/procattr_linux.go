package qemu

import "syscall"

// dieWithParent makes the kernel kill QEMU when the plugin dies, whatever
// ends it (Linux's parent-death signal).
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

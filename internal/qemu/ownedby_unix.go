//go:build !windows

package qemu

import (
	"io/fs"
	"syscall"
)

// ownedByRoot reports whether the file belongs to root, as a setuid
// helper must to gain root's rights.
func ownedByRoot(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Uid == 0
}

//go:build !windows

package qemu

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// kvmPermissionHint says how to let this user open the device at path.
func kvmPermissionHint(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	group := strconv.Itoa(int(st.Gid))
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	return permissionHint(path, fi.Mode().Perm(), st.Gid, group)
}

//go:build !windows

package fileutil

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// PrivateDir creates dir (mode 0700) and makes sure it is a real
// directory of the current user's that no one else can write.
func PrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("%s is not a directory (a symbolic link?): remove it", dir)
	case int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s belongs to user %d, not to the building user %d: remove it", dir, st.Uid, os.Geteuid())
	case st.Mode&0o022 != 0:
		return os.Chmod(dir, 0o700)
	}
	return nil
}

//go:build !windows

package kvm

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// errLocked: another process holds the lock.
var errLocked = errors.New("locked by another process")

// tryLockFile takes an exclusive flock(2) on f without waiting. The kernel
// drops it when the process dies, even by SIGKILL.
func tryLockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

// privateDir creates dir (mode 0700) and makes sure it is a real
// directory of the building user's that no one else can write.
func privateDir(dir string) error {
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

// openLockFile opens (creating, mode 0600) the lock file at path without
// following a symbolic link, and refuses anything but a regular file of
// the building user's with a single link: the build truncates and writes
// it.
func openLockFile(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("the lock file %s is a symbolic link: remove it", path)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	var why string
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		why = "is not a regular file"
	case int(st.Uid) != os.Geteuid():
		why = fmt.Sprintf("belongs to user %d, not to the building user %d", st.Uid, os.Geteuid())
	case st.Nlink != 1:
		why = fmt.Sprintf("has %d hard links", st.Nlink)
	}
	if why != "" {
		f.Close()
		return nil, fmt.Errorf("the lock file %s %s: remove it", path, why)
	}
	// O_NONBLOCK kept a FIFO planted there from blocking the open; a
	// regular file ignores it, but clear it all the same.
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

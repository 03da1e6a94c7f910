//go:build !windows

package lockutil

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// TryLock takes an exclusive flock(2) on f without waiting. The kernel
// drops it when the process dies, even by SIGKILL.
func TryLock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

// OpenFile opens (creating, mode 0600) the lock file at path without
// following a symbolic link, and refuses anything but a regular file of
// the current user's with a single link: the caller may truncate and
// write it.
func OpenFile(path string) (*os.File, error) {
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

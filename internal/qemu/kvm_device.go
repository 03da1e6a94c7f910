package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// KVMDeviceError is a failure to open the KVM device. It is about this
// process (its user and groups, or a container started without the
// device), not about what the host's KVM can run: it makes `auto` fall
// back to TCG but is never remembered as the host's verdict, so another
// user, or the same one once allowed in, uses KVM at once.
type KVMDeviceError struct {
	Path string
	Err  error
	// Hint says what to do about it, when anything.
	Hint string
}

func (e *KVMDeviceError) Error() string {
	msg := fmt.Sprintf("cannot open %s: %v", e.Path, unwrapPathError(e.Err))
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *KVMDeviceError) Unwrap() error { return e.Err }

// IsKVMDeviceError tells whether err is (or wraps) a KVMDeviceError.
func IsKVMDeviceError(err error) bool {
	var dev *KVMDeviceError
	return errors.As(err, &dev)
}

// openKVMDevice checks that this process may open the KVM device at path
// read-write, as QEMU must.
func openKVMDevice(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		e := &KVMDeviceError{Path: path, Err: err}
		switch {
		case errors.Is(err, fs.ErrPermission):
			e.Hint = kvmPermissionHint(path)
		case errors.Is(err, fs.ErrNotExist):
			e.Hint = "no KVM here: the kvm module is not loaded, the CPU's virtualization is off, or a container was started without --device /dev/kvm"
		}
		return e
	}
	return f.Close()
}

// permissionHint is kvmPermissionHint's advice for a device of mode perm
// owned by group gid (named group): join the group when it may read and
// write the device, else open the device to a group or everyone.
func permissionHint(path string, perm fs.FileMode, gid uint32, group string) string {
	if perm&0o060 == 0o060 && gid != 0 {
		return fmt.Sprintf("this user is not in the group %s, which may use it: usermod -aG %s <user>, then log in again; builds run under TCG until then", group, group)
	}
	return fmt.Sprintf("%s is mode %04o, group %s: only its owner may use KVM; give it a group of KVM users (see docs/running-builds.md); builds run under TCG until then", path, perm, group)
}

// unwrapPathError drops an fs.PathError's operation and path, which the
// message already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

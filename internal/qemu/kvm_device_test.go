package qemu

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpenKVMDevice(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "kvm")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := openKVMDevice(dev); err != nil {
		t.Fatalf("a device this process may open: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "kvm")
	err := openKVMDevice(missing)
	if !IsKVMDeviceError(err) {
		t.Fatalf("a missing device gave %v, want a KVMDeviceError", err)
	}
	if want := "cannot open " + missing + ": no such file or directory; no KVM here: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
	if os.Getuid() != 0 {
		// Root opens any file: only an ordinary user sees EACCES here.
		if err := os.Chmod(dev, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := openKVMDevice(dev); !IsKVMDeviceError(err) || !strings.Contains(err.Error(), "permission denied; ") {
			t.Errorf("a device this user may not write gave %v", err)
		}
	}
}

func TestKVMDeviceError_permissionDenied(t *testing.T) {
	err := &KVMDeviceError{Path: "/dev/kvm", Err: &fs.PathError{Op: "open", Path: "/dev/kvm", Err: syscall.EACCES}, Hint: "a hint"}
	if got, want := err.Error(), "cannot open /dev/kvm: permission denied; a hint"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if !IsKVMDeviceError(fmt.Errorf("kvm is not usable (%w)", err)) {
		t.Error("a wrapped device error is not recognized")
	}
}

func TestPermissionHint(t *testing.T) {
	cases := []struct {
		perm  fs.FileMode
		gid   uint32
		group string
		want  string
	}{
		{0o660, 108, "kvm", "this user is not in the group kvm, which may use it: usermod -aG kvm <user>"},
		{0o600, 0, "root", "/dev/kvm is mode 0600, group root: only its owner may use KVM; give it a group of KVM users (see docs/running-builds.md)"},
		{0o660, 0, "root", "/dev/kvm is mode 0660, group root: only its owner"},
		{0o640, 108, "kvm", "/dev/kvm is mode 0640, group kvm: only its owner"},
	}
	for _, tc := range cases {
		if got := permissionHint("/dev/kvm", tc.perm, tc.gid, tc.group); !strings.HasPrefix(got, tc.want) {
			t.Errorf("permissionHint(%04o, %d, %s) = %q, want it to start with %q", tc.perm, tc.gid, tc.group, got, tc.want)
		}
	}
}

package kvm

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
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
	if !isKVMDeviceError(err) {
		t.Fatalf("a missing device gave %v, want a kvmDeviceError", err)
	}
	if want := "cannot open " + missing + ": no such file or directory; no KVM here: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
	if os.Getuid() != 0 {
		// Root opens any file: only an ordinary user sees EACCES here.
		if err := os.Chmod(dev, 0o400); err != nil {
			t.Fatal(err)
		}
		if err := openKVMDevice(dev); !isKVMDeviceError(err) || !strings.Contains(err.Error(), "permission denied; ") {
			t.Errorf("a device this user may not write gave %v", err)
		}
	}
}

func TestKVMDeviceError_permissionDenied(t *testing.T) {
	err := &kvmDeviceError{Path: "/dev/kvm", Err: &fs.PathError{Op: "open", Path: "/dev/kvm", Err: syscall.EACCES}, Hint: "a hint"}
	if got, want := err.Error(), "cannot open /dev/kvm: permission denied; a hint"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	if !isKVMDeviceError(fmt.Errorf("kvm is not usable (%w)", err)) {
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

// A KVM device this user may not open makes auto fall back to TCG, with
// the reason, but is no verdict about the host: nothing is remembered,
// and a success another user (or this one, before) remembered stays.
func TestStepChooseAccelerator_deviceErrorIsNotRemembered(t *testing.T) {
	denied := &kvmDeviceError{Path: "/dev/kvm", Err: &fs.PathError{Op: "open", Path: "/dev/kvm", Err: syscall.EACCES}, Hint: "join the group"}
	for _, remembered := range []string{"", "kvm"} {
		t.Run("remembered "+remembered, func(t *testing.T) {
			state, driver := testState(t)
			driver.ProbeKVMErr = denied
			store := &verdictStore{Dir: t.TempDir()}
			version, _ := driver.QemuVersion(context.Background())
			host := currentHost(version, "q35", "host")
			if remembered != "" {
				if _, err := store.Save(acceleratorVerdict{Accelerator: remembered, Host: host}); err != nil {
					t.Fatal(err)
				}
			}
			step := &stepChooseAccelerator{Mode: "auto", MachineType: "q35", ProbeTimeout: time.Second, HostOS: "linux", HostArch: "x86_64", Arch: "x86_64",
				Verdicts: store, DevKVM: filepath.Join(t.TempDir(), "unopenable")}
			if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
				t.Fatalf("halted: %v", stateErr(state))
			}
			if got := keyAccelerator.Get(state); got != "tcg" {
				t.Fatalf("accelerator %v, want tcg", got)
			}
			if out := uiOutput(state); !strings.Contains(out, "cannot open /dev/kvm: permission denied; join the group") {
				t.Errorf("the output does not give the reason:\n%s", out)
			}
			v, ok := store.Load(host)
			switch {
			case remembered == "" && ok:
				t.Errorf("the device error was remembered as the host's verdict: %+v", v)
			case remembered != "" && (!ok || v.Accelerator != remembered):
				t.Errorf("the remembered %s verdict became %+v", remembered, v)
			}
		})
	}
}

package kvm

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// A KVM device this user may not open makes auto fall back to TCG, with
// the reason, but is no verdict about the host: nothing is remembered,
// and a success another user (or this one, before) remembered stays.
func TestStepChooseAccelerator_deviceErrorIsNotRemembered(t *testing.T) {
	denied := &qemu.KVMDeviceError{Path: "/dev/kvm", Err: &fs.PathError{Op: "open", Path: "/dev/kvm", Err: syscall.EACCES}, Hint: "join the group"}
	for _, remembered := range []string{"", "kvm"} {
		t.Run("remembered "+remembered, func(t *testing.T) {
			state, driver := testState(t)
			driver.ProbeKVMErr = denied
			store := &qemu.VerdictStore{Dir: t.TempDir()}
			version, _ := driver.QemuVersion(context.Background())
			host := qemu.CurrentHost(version, "q35", "host")
			if remembered != "" {
				if _, err := store.Save(qemu.AcceleratorVerdict{Accelerator: remembered, Host: host}); err != nil {
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

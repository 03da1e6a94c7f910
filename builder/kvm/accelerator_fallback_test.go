package kvm

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
)

func TestKVMFailedBeforeSSH(t *testing.T) {
	internal := &vmwatch.Failure{Message: "the hypervisor stopped the guest on an internal error (QMP status \"internal-error\")\n(the serial console printed nothing)"}
	msr := errors.New("starting QEMU: QEMU exited at start: exit status 134: qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69")
	guest := errors.New("timeout waiting for SSH")
	panicked := &vmwatch.Failure{Message: "the guest kernel panicked"}
	cases := []struct {
		name      string
		mode      string
		accel     string
		connected bool
		err       error
		restart   bool
	}{
		{"internal error before SSH", "auto", "kvm", false, internal, true},
		{"QEMU aborts on an MSR", "auto", "kvm", false, msr, true},
		{"explicit kvm fails instead", "kvm", "kvm", false, internal, false},
		{"already under TCG", "auto", "tcg", false, internal, false},
		{"after SSH it is not the boot", "auto", "kvm", true, internal, false},
		{"a guest's own failure", "auto", "kvm", false, panicked, false},
		{"an SSH timeout", "auto", "kvm", false, guest, false},
		{"success", "auto", "kvm", false, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state := new(multistep.BasicStateBag)
			keyAccelerator.Put(state, tc.accel)
			if tc.connected {
				keyCommunicator.Put(state, &packersdk.MockCommunicator{})
			}
			reason := kvmFailedBeforeSSH(tc.mode, state, tc.err)
			if (reason != nil) != tc.restart {
				t.Fatalf("restart reason %v, want a restart: %v", reason, tc.restart)
			}
			if reason != nil && (strings.Contains(reason.Error(), "serial console") || !strings.Contains(reason.Error(), qemu.FirstLine(tc.err.Error()))) {
				t.Fatalf("reason %q should quote the error's first line only", reason)
			}
		})
	}
}

func TestRememberKVM_storesFailureAndSuccessForTheProbedHost(t *testing.T) {
	store := &qemu.VerdictStore{Dir: t.TempDir()}
	state, _ := testState(t)
	host := qemu.HostIdentity{OS: "linux", Kernel: "6.1.0-13-amd64", QEMU: "QEMU emulator version 7.2.0", CPU: "AMD EPYC", Machine: "q35", CPUModel: "host"}
	keyAcceleratorHost.Put(state, host)
	keyAccelerator.Put(state, "kvm")

	rememberKVMWorked(store, state)
	if _, ok := store.Load(host); ok {
		t.Fatal("remembered KVM as working before any guest reached SSH")
	}
	keyCommunicator.Put(state, &packersdk.MockCommunicator{})
	rememberKVMWorked(store, state)
	if v, ok := store.Load(host); !ok || v.Accelerator != "kvm" {
		t.Fatalf("after SSH under KVM: %+v %v, want kvm remembered", v, ok)
	}
	rememberKVMFailed(keyUI.Get(state), store, state, errors.New("KVM stopped the guest before it reached SSH: emulation failure"))
	if v, ok := store.Load(host); !ok || v.Accelerator != "tcg" || !strings.Contains(v.Reason, "emulation failure") {
		t.Fatalf("after a failure: %+v %v, want tcg with the reason", v, ok)
	}
}

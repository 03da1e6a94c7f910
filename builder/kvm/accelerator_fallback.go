package kvm

import (
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// kvmFailedBeforeSSH is why a build under `accelerator = "auto"` should be
// run again under TCG, or nil: it ran under KVM, never reached SSH, and
// ended on a hypervisor error. Later failures are the guest's or the
// template's, and running them again would only repeat them.
func kvmFailedBeforeSSH(mode string, state multistep.StateBag, err error) error {
	if mode != "auto" || err == nil || keyAccelerator.Get(state) != "kvm" {
		return nil
	}
	if _, connected := keyCommunicator.GetOk(state); connected {
		return nil
	}
	if !qemu.IsHypervisorFailure(err) {
		return nil
	}
	return fmt.Errorf("KVM stopped the guest before it reached SSH: %s", qemu.FirstLine(err.Error()))
}

// rememberKVMFailed stores that KVM cannot run guests on this host, so
// the next build goes straight to TCG; it says where, and how to undo it.
func rememberKVMFailed(ui packersdk.Ui, store *qemu.VerdictStore, state multistep.StateBag, reason error) {
	host, ok := keyAcceleratorHost.GetOk(state)
	if store == nil || !ok {
		return
	}
	path, err := store.Save(qemu.AcceleratorVerdict{Accelerator: "tcg", Reason: reason.Error(), Decided: time.Now().UTC(), Host: host})
	if err != nil {
		ui.Error(fmt.Sprintf("Warning: %s", err))
		return
	}
	ui.Say(fmt.Sprintf("Remembered in %s: later builds on this host use TCG without trying KVM (delete the file to try again)", path))
}

// rememberKVMWorked stores that KVM ran a guest to SSH on this host, so
// the next build skips the probe. Nothing is stored for other outcomes or
// when a verdict already says so.
func rememberKVMWorked(store *qemu.VerdictStore, state multistep.StateBag) {
	host, ok := keyAcceleratorHost.GetOk(state)
	if store == nil || !ok || keyAccelerator.Get(state) != "kvm" {
		return
	}
	if _, connected := keyCommunicator.GetOk(state); !connected {
		return
	}
	if v, ok := store.Load(host); ok && v.Accelerator == "kvm" {
		return
	}
	_, _ = store.Save(qemu.AcceleratorVerdict{Accelerator: "kvm", Decided: time.Now().UTC(), Host: host})
}

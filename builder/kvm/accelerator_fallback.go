package kvm

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// hypervisorFailureSigns are what QEMU and the VM watch say when the
// hypervisor, not the guest, gave up: QEMU's KVM layer aborting at start
// (an MSR it cannot set), KVM stopping the guest (an instruction its
// emulator refuses, a failed VM entry), or the run state QEMU reports
// for either.
var hypervisorFailureSigns = []string{
	`QMP status "internal-error"`,
	"KVM internal error",
	"emulation failure",
	"kvm run failed",
	"KVM: entry failed",
	"failed to set MSR",
	"failed to get MSR",
	"kvm_buf_set_msrs",
	"kvm_init_vcpu",
	"Could not access KVM kernel module",
	"failed to initialize kvm",
}

// hypervisorFailure reports whether err is the hypervisor failing rather
// than the guest or the template.
func hypervisorFailure(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	for _, sign := range hypervisorFailureSigns {
		if strings.Contains(msg, sign) {
			return true
		}
	}
	return false
}

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
	if !hypervisorFailure(err) {
		return nil
	}
	return fmt.Errorf("KVM stopped the guest before it reached SSH: %s", firstLineOf(err.Error()))
}

// firstLineOf keeps an error's first line: the watch's errors append the
// serial console's tail, which belongs in the final error, not a warning.
func firstLineOf(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return strings.TrimSpace(line)
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

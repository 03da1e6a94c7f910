package kvm

import (
	"cmp"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// settleForeignGuest decides the accelerator without a probe when the
// guest's architecture is not the host's: hardware virtualization runs only
// the host's own instructions, so such a guest is always emulated. It
// reports whether it decided (and, on a halt, why in the state's error).
// It writes accelerator.
func (s *stepChooseAccelerator) settleForeignGuest(state multistep.StateBag) (decided bool, action multistep.StepAction) {
	host := cmp.Or(s.HostArch, qemu.HostArch())
	guest := cmp.Or(s.Arch, host)
	if guest == host {
		return false, multistep.ActionContinue
	}
	if s.Mode == "kvm" {
		return true, halt(state, fmt.Errorf("accelerator = \"kvm\" cannot run an %s guest on this %s host: KVM runs only the host's architecture; use accelerator = \"auto\" or \"tcg\"", guest, host))
	}
	keyUI.Get(state).Say(fmt.Sprintf("Accelerator: tcg (an %s guest on an %s host is emulated)", guest, host))
	keyAccelerator.Put(state, "tcg")
	return true, multistep.ActionContinue
}

package kvm

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"time"
)

// stepChooseAccelerator settles KVM or TCG before the real boot. A host
// whose /dev/kvm opens but cannot run a guest (nested or paravirtualized
// hosts, common on CI) would otherwise abort, pause, or crawl until
// ssh_timeout; a short probe finds that out in seconds.
type stepChooseAccelerator struct {
	Mode         string // auto | kvm | tcg
	MachineType  string
	CPUModel     string
	ProbeTimeout time.Duration
	// Arch is the guest's architecture and HostArch the host's (the
	// running machine's when empty): a foreign guest is never probed.
	Arch, HostArch string
}

func (s *stepChooseAccelerator) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	driver := state.Get("driver").(Driver)

	if decided, action := s.settleForeignGuest(state); decided {
		return action
	}
	accel := "tcg"
	if s.Mode != "tcg" {
		cpu := s.CPUModel
		if cpu == "" {
			cpu = "host"
		}
		start := time.Now()
		err := driver.ProbeKVM(ctx, s.MachineType, cpu, s.ProbeTimeout)
		switch {
		case ctx.Err() != nil:
			return halt(state, ctx.Err())
		case err == nil:
			accel = "kvm"
		case s.Mode == "kvm":
			return halt(state, fmt.Errorf("accelerator = \"kvm\" but KVM cannot run the guest: %w. Use accelerator = \"auto\" or \"tcg\" to emulate", err))
		default:
			ui.Error(fmt.Sprintf("Warning: KVM is not usable (%s, found in %s); falling back to TCG software emulation, which is much slower", err, time.Since(start).Round(100*time.Millisecond)))
		}
	}
	ui.Say(fmt.Sprintf("Accelerator: %s", accel))
	state.Put("accelerator", accel)
	return multistep.ActionContinue
}

func (s *stepChooseAccelerator) Cleanup(multistep.StateBag) {}

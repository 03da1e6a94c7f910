package kvm

import (
	"cmp"
	"context"
	"fmt"

	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepChooseAccelerator settles the accelerator before the real boot:
// the host's own (KVM, HVF or WHPX) when it can run a guest, else TCG. A
// Linux host whose /dev/kvm opens but cannot run a guest (nested or
// paravirtualized hosts, common on CI) would otherwise abort, pause, or
// crawl until ssh_timeout; a short probe finds that out in seconds.
//
// It reads driver and ui, and writes accelerator.
type stepChooseAccelerator struct {
	Mode         string // auto | kvm | hvf | whpx | tcg
	MachineType  string
	CPUModel     string
	ProbeTimeout time.Duration
	// HostOS is the host's GOOS; empty means this host's.
	HostOS string
	// ProbeNative tells whether HVF or WHPX is available; nil means
	// probeHostAccelerator.
	ProbeNative func(accel string) error
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
	start := time.Now()
	probe := func(accel string) error {
		switch {
		case accel == "kvm":
			return driver.ProbeKVM(ctx, s.MachineType, cmp.Or(s.CPUModel, "host"), s.ProbeTimeout)
		case s.ProbeNative != nil:
			return s.ProbeNative(accel)
		default:
			return probeHostAccelerator(accel)
		}
	}
	accel, fallback, err := selectAccelerator(s.Mode, cmp.Or(s.HostOS, hostOS), probe)
	switch {
	case ctx.Err() != nil:
		return halt(state, ctx.Err())
	case err != nil:
		return halt(state, err)
	case fallback != nil:
		ui.Error(fmt.Sprintf("Warning: %s, found in %s; falling back to TCG software emulation, which is much slower", fallback, time.Since(start).Round(100*time.Millisecond)))
	}
	ui.Say(fmt.Sprintf("Accelerator: %s", accel))
	state.Put("accelerator", accel)
	return multistep.ActionContinue
}

func (s *stepChooseAccelerator) Cleanup(multistep.StateBag) {}

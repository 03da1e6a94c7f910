package kvm

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

// stepWarmResumed runs once SSH is connected. After a resume it sets the
// guest's clock, which stood still while the VM was saved, to the host's
// time before anything else runs in the guest, and reports the resume.
//
// It reads ui, communicator and the warm start's Entry and Started, and
// sets its Resumed (warmState, state.go).
type stepWarmResumed struct {
	User string
	// Now is the host's clock (time.Now if nil).
	Now func() time.Time
}

func (s *stepWarmResumed) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	warm := warmOf(state)
	entry := warm.Entry
	if entry == nil {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	comm := keyCommunicator.Get(state)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	cmd := &packersdk.RemoteCmd{Command: warmstart.SetClockCommand(s.User, now())}
	if err := cmd.RunWithUi(ctx, comm, ui); err != nil {
		return halt(state, fmt.Errorf("warm start: setting the guest's clock: %w", err))
	}
	if cmd.ExitStatus() != 0 {
		return halt(state, fmt.Errorf("warm start: setting the guest's clock failed (exit status %d): the build user needs passwordless sudo", cmd.ExitStatus()))
	}
	warm.Resumed = true
	took := time.Since(warm.Started)
	saved := entry.Manifest.BootSeconds - took.Seconds()
	ui.Say(fmt.Sprintf("warm start: resumed from %s, saved %.0f s", entry.Name(), saved))
	return multistep.ActionContinue
}

func (s *stepWarmResumed) Cleanup(multistep.StateBag) {}

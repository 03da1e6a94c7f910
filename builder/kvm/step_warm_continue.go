package kvm

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepWarmContinue runs right after QEMU starts on a resume. QEMU loads
// the saved state, but the guest was paused when it was saved and the
// migration carries that run state, so QEMU does not start it: this step
// waits for the load to finish and continues the guest
// (warmstart.Entry.Continue).
//
// It reads ui, vm and the warm start's Entry (warmState, state.go).
type stepWarmContinue struct {
	// Timeout bounds the state's load (2m if 0).
	Timeout      time.Duration
	PollInterval time.Duration
}

func (s *stepWarmContinue) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	entry := warmOf(state).Entry
	if entry == nil {
		return multistep.ActionContinue
	}
	timeout, interval := s.Timeout, s.PollInterval
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	if interval == 0 {
		interval = 100 * time.Millisecond
	}
	took, continued, err := entry.Continue(ctx, keyVM.Get(state), timeout, interval)
	if err != nil {
		return halt(state, fmt.Errorf("warm start: %w", err))
	}
	if continued {
		keyUI.Get(state).Say(fmt.Sprintf("warm start: the saved VM loaded in %s", took.Round(100*time.Millisecond)))
	}
	return multistep.ActionContinue
}

func (s *stepWarmContinue) Cleanup(multistep.StateBag) {}

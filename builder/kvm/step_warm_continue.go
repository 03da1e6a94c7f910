package kvm

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// stepWarmContinue runs right after QEMU starts on a resume. QEMU loads
// the saved state, but the guest was paused when it was saved and the
// migration carries that run state, so QEMU does not start it: this step
// waits for the load to finish and continues the guest.
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
	vm := keyVM.Get(state)
	timeout, interval := s.Timeout, s.PollInterval
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	if interval == 0 {
		interval = 100 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	for {
		status, err := vm.Status(ctx)
		if err != nil {
			return halt(state, fmt.Errorf("warm start: loading the VM saved in %s: %w", entry.Name(), err))
		}
		switch status {
		case "inmigrate":
		case "running":
			return multistep.ActionContinue
		default:
			if err := s.checkLoaded(ctx, vm); err != nil {
				return halt(state, fmt.Errorf("warm start: loading the VM saved in %s: %w", entry.Name(), err))
			}
			if _, err := vm.Command(ctx, "cont", nil); err != nil {
				return halt(state, fmt.Errorf("warm start: continuing the resumed VM (status %q): %w", status, err))
			}
			keyUI.Get(state).Say(fmt.Sprintf("warm start: the saved VM loaded in %s", time.Since(start).Round(100*time.Millisecond)))
			return multistep.ActionContinue
		}
		select {
		case <-ctx.Done():
			return halt(state, fmt.Errorf("warm start: the VM saved in %s did not load within %s", entry.Name(), timeout))
		case <-time.After(interval):
		}
	}
}

// checkLoaded asks QEMU whether the incoming migration completed.
func (s *stepWarmContinue) checkLoaded(ctx context.Context, vm qemu.VM) error {
	info, err := queryMigrate(ctx, vm)
	if err != nil {
		return err
	}
	if info.Status != "completed" {
		return fmt.Errorf("the incoming migration is %q: %s", info.Status, info.ErrorDesc)
	}
	return nil
}

func (s *stepWarmContinue) Cleanup(multistep.StateBag) {}

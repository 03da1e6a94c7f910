package kvm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

// stepWarmSave saves the booted VM into the warm-start cache once the guest
// is ready for provisioning, on a cold warm-start build whose entry does
// not exist yet (warmstart.Cache.Save: the guest is paused while its disk
// and memory are taken at one instant, then continues on a new overlay).
// A failed save only costs the cache entry: the build goes on.
//
// It reads ui, driver, vm, overlay_path, efi_vars, instance_id and the warm
// start's Cache, Key, Inputs, Entry and Started (warmState, state.go), and
// writes overlay_path (the new top overlay).
type stepWarmSave struct {
	// KeyComment is the comment of the key the guest authorized.
	KeyComment string
	// Comm holds the build's private key.
	Comm *communicator.Config
	// PollInterval is how often the migration's progress is read.
	PollInterval time.Duration
}

func (s *stepWarmSave) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	warm := warmOf(state)
	key := warm.Key
	if key == "" || warm.Entry != nil {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	cache := warm.Cache
	if cache.Has(key) {
		ui.Say("warm start: another build saved this VM meanwhile; not saving it again")
		return multistep.ActionContinue
	}
	start := time.Now()
	ui.Say("warm start: saving the booted VM...")
	saved, err := cache.Save(ctx, warmstart.SaveRequest{
		Driver:       keyDriver.Get(state),
		VM:           keyVM.Get(state),
		Overlay:      keyOverlayPath.Get(state),
		EFIVars:      keyEFIVars.Get(state),
		PrivateKey:   s.Comm.SSHPrivateKey,
		Inputs:       warm.Inputs,
		InstanceID:   keyInstanceID.Get(state),
		KeyComment:   s.KeyComment,
		Boot:         start.Sub(warm.Started),
		PollInterval: s.PollInterval,
	})
	keyOverlayPath.Put(state, saved.Overlay)
	if err != nil {
		var stopped *warmstart.ContinueError
		if errors.As(err, &stopped) {
			return halt(state, fmt.Errorf("warm start: %w", err))
		}
		ui.Error(fmt.Sprintf("warm start: the VM was not saved (the build goes on): %s", err))
		return multistep.ActionContinue
	}
	ui.Say(fmt.Sprintf("warm start: saved entry %s (%s) in %s", warmstart.ShortKey(key), fileutil.HumanBytes(saved.Size), time.Since(start).Round(100*time.Millisecond)))
	if removed, err := cache.Evict(0, saved.Dir); err != nil {
		ui.Error(fmt.Sprintf("warm start: evicting old entries: %s", err))
	} else if len(removed) > 0 {
		ui.Say(fmt.Sprintf("warm start: evicted %d least recently used entries to stay under %s", len(removed), fileutil.HumanBytes(cache.MaxBytes)))
	}
	return multistep.ActionContinue
}

// Cleanup has nothing to do: Save removes a partly written entry itself.
func (s *stepWarmSave) Cleanup(multistep.StateBag) {}

package kvm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

// stepWarmRestore runs just before QEMU starts when warm_start is on. It
// computes the cache key of this build's booted guest and, when a sound
// entry exists for it, prepares the resume: the build's disk becomes a
// copy of the entry's layer (rebased on this build's source), the UEFI
// variables a copy of the entry's, the SSH key and cloud-init instance-id
// the ones the guest knows, and QEMU gets `-incoming` to load the saved
// state. A damaged entry is discarded and the build boots cold. On a cold
// boot it only adds the vmgenid device, so both layouts match.
//
// It reads driver, ui, source_image_path (or source_image_id),
// source_image_format, accelerator, overlay_path, efi_code, efi_vars and,
// in Cleanup, vm_watch and the warm start's Resumed; it writes the warm
// start (warmState, state.go), source_image_id and, on a resume,
// instance_id.
type stepWarmRestore struct {
	Enabled bool
	// CacheDir is Packer's cache directory (packer.CachePath).
	CacheDir func() (string, error)
	// Inputs holds the configuration's part of the key; the step adds
	// what is known only at run time, and Texts keyed by the cache's key.
	Inputs         warmstart.KeyInputs
	Texts          warmstart.Texts
	SourceChecksum string
	// Comm receives the entry's private key.
	Comm *communicator.Config
	// Revoke receives the key comment the guest's authorized key carries.
	Revoke *stepRevokeBuildAccess
}

func (s *stepWarmRestore) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if !s.Enabled {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	cacheDir, err := s.CacheDir()
	if err != nil {
		return halt(state, fmt.Errorf("warm start: finding Packer's cache directory: %w", err))
	}
	cache := warmstart.CacheIn(cacheDir)
	secret, err := cache.Secret()
	if err != nil {
		return halt(state, fmt.Errorf("warm start: %w", err))
	}
	inputs, err := s.runtimeInputs(ctx, state)
	if err != nil {
		return halt(state, fmt.Errorf("warm start: %w", err))
	}
	inputs = inputs.WithTexts(secret, s.Texts)
	key := inputs.Key()
	warm := &warmState{Cache: cache, Key: key, Inputs: inputs, Started: time.Now(), QemuArgs: warmstart.VMGenIDArgs()}
	keyWarm.Put(state, warm)

	entry, err := cache.Open(inputs)
	switch {
	case errors.Is(err, warmstart.ErrMiss):
		ui.Say(fmt.Sprintf("warm start: no saved VM for these inputs (key %s): booting cold, the booted VM will be saved", warmstart.ShortKey(key)))
		return multistep.ActionContinue
	case err != nil:
		ui.Error(fmt.Sprintf("warm start: discarding the damaged entry %s: %s; booting cold", warmstart.ShortKey(key), err))
		if rmErr := cache.Remove(key); rmErr != nil {
			ui.Error(fmt.Sprintf("warm start: removing the damaged entry: %s", rmErr))
		}
		return multistep.ActionContinue
	}
	if err := s.prepareResume(ctx, state, warm, entry); err != nil {
		return halt(state, fmt.Errorf("warm start: preparing the resume from %s: %w", entry.Name(), err))
	}
	entry.Touch()
	warm.Entry = entry
	ui.Say(fmt.Sprintf("warm start: resuming the VM saved in entry %s (%s)", entry.Name(), entry.Dir))
	return multistep.ActionContinue
}

// runtimeInputs completes the key inputs with the source's identity, the
// accelerator chosen, the firmware files' content and QEMU's version.
func (s *stepWarmRestore) runtimeInputs(ctx context.Context, state multistep.StateBag) (warmstart.KeyInputs, error) {
	driver := keyDriver.Get(state)
	in := s.Inputs
	source, err := buildSourceImageID(state, s.SourceChecksum)
	if err != nil {
		return in, fmt.Errorf("checksumming the source image: %w", err)
	}
	in.Source = source
	in.Accelerator = keyAccelerator.Get(state)
	for _, f := range []struct {
		key stateKey[string]
		dst *string
	}{{keyEFICode, &in.EFICode}, {keyEFIVars, &in.EFIVars}} {
		if path := f.key.Get(state); path != "" {
			if *f.dst, _, err = fileutil.SHA256(path); err != nil {
				return in, err
			}
		}
	}
	if in.QemuVersion, err = driver.QemuVersion(ctx); err != nil {
		return in, err
	}
	return in, nil
}

// prepareResume puts the entry's disk, variables, key and instance-id in
// place of the fresh build's, and tells QEMU to load the saved state.
func (s *stepWarmRestore) prepareResume(ctx context.Context, state multistep.StateBag, warm *warmState, e *warmstart.Entry) error {
	key, err := e.PrepareResume(ctx, warmstart.ResumeTarget{
		Driver:       keyDriver.Get(state),
		Overlay:      keyOverlayPath.Get(state),
		Source:       keySourceImagePath.Get(state),
		SourceFormat: keySourceImageFormat.Get(state),
		EFIVars:      keyEFIVars.Get(state),
	})
	if err != nil {
		return err
	}
	packersdk.LogSecretFilter.Set(string(key))
	s.Comm.SSHPrivateKey = key
	if s.Revoke != nil && s.Revoke.KeyComment != "" {
		s.Revoke.KeyComment = e.Manifest.KeyComment
	}
	keyInstanceID.Put(state, e.Manifest.InstanceID)
	warm.QemuArgs = append(warmstart.VMGenIDArgs(), e.IncomingArgs()...)
	return nil
}

// Cleanup discards an entry the VM failed to resume from (QEMU rejected
// the saved state and exited), so the next build boots cold.
func (s *stepWarmRestore) Cleanup(state multistep.StateBag) {
	warm := warmOf(state)
	if warm.Entry == nil || warm.Resumed {
		return
	}
	watch := keyVMWatch.Get(state)
	if watch == nil || watch.Err() == nil {
		return
	}
	ui := keyUI.Get(state)
	ui.Error(fmt.Sprintf("warm start: the VM did not resume from entry %s; it is discarded, so the next build boots cold", warm.Entry.Name()))
	_ = warm.Entry.Remove()
}

// warmQemuArgs are the arguments stepWarmRestore adds to QEMU's command
// line; none when warm start is off.
func warmQemuArgs(state multistep.StateBag) []string {
	return warmOf(state).QemuArgs
}

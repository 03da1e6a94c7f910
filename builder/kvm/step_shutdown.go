package kvm

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepShutdown powers the guest off cleanly so its filesystems are
// consistent in the snapshot: an ACPI power-down over QMP by default, or
// the user's shutdown_command. A guest that has not powered off after
// Timeout fails the build with the serial console's tail (its disk would
// need a filesystem check); with ForceOnTimeout it is stopped instead and
// the build carries on, with a warning.
//
// It reads ui, vm, serial_log, communicator (with Command) and vm_watch,
// which it tells that the power-off is expected.
type stepShutdown struct {
	Command        string
	Timeout        time.Duration
	ForceOnTimeout bool
}

func (s *stepShutdown) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	vm := keyVM.Get(state)
	if watch, ok := keyVMWatch.GetOk(state); ok {
		watch.ExpectShutdown()
	}

	if s.Command != "" {
		ui.Say(fmt.Sprintf("Shutting down with: %s", s.Command))
		comm := keyCommunicator.Get(state)
		cmd := &packersdk.RemoteCmd{Command: s.Command}
		// The connection usually drops as the guest goes down: not an error.
		if err := comm.Start(ctx, cmd); err != nil {
			return halt(state, fmt.Errorf("running shutdown_command: %w", err))
		}
	} else {
		ui.Say("Shutting down with an ACPI power-down...")
		if err := vm.PowerDown(ctx); err != nil {
			return halt(state, fmt.Errorf("sending the ACPI power-down: %w", err))
		}
	}

	start := time.Now()
	timer := time.NewTimer(s.Timeout)
	defer timer.Stop()
	select {
	case <-vm.Exited():
		ui.Say(fmt.Sprintf("The guest powered off after %s", time.Since(start).Round(100*time.Millisecond)))
		return multistep.ActionContinue
	case <-ctx.Done():
		return halt(state, ctx.Err())
	case <-timer.C:
		if !s.ForceOnTimeout {
			return halt(state, fmt.Errorf("the guest did not power off within %s (shutdown_timeout): its filesystems would need recovery, so no image is written. Raise shutdown_timeout, check shutdown_command, or set force_shutdown_on_timeout = true to stop it and keep the image anyway%s",
				s.Timeout, serialTail(keySerialLog.Get(state), 30)))
		}
		ui.Error(fmt.Sprintf("Warning: the guest did not power off within %s (shutdown_timeout); stopping QEMU as force_shutdown_on_timeout asks. The image may need a filesystem check.", s.Timeout))
		if err := vm.Stop(); err != nil {
			return halt(state, fmt.Errorf("stopping QEMU: %w", err))
		}
		return multistep.ActionContinue
	}
}

func (s *stepShutdown) Cleanup(multistep.StateBag) {}

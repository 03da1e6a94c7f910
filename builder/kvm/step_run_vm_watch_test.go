package kvm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
)

// blockingStep stands for any long step (StepProvision, StepConnect, ...):
// it returns only when its context ends.
type blockingStep struct{ started chan struct{} }

func (s *blockingStep) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	close(s.started)
	<-ctx.Done()
	return halt(state, ctx.Err())
}
func (s *blockingStep) Cleanup(multistep.StateBag) {}

// The watch started by stepRunVM interrupts whatever step runs, through the
// build's context, with the reason; QEMU is stopped by the cleanup.
func TestVMWatch_interruptsTheRunningStepWithTheReason(t *testing.T) {
	state, driver, dir := runVMState(t)

	ctx, abort := context.WithCancelCause(context.Background())
	defer abort(nil)
	long := &blockingStep{started: make(chan struct{})}
	runner := &multistep.BasicRunner{Steps: []multistep.Step{
		&stepRunVM{Spec: testSpec(), OutputDir: dir, Abort: abort, WatchInterval: 20 * time.Millisecond},
		long,
	}}
	done := make(chan struct{})
	go func() { runner.Run(ctx, state); close(done) }()
	<-long.started
	driver.VM.Emit("BLOCK_IO_ERROR", map[string]interface{}{"device": "disk0", "action": "stop", "nospace": true, "reason": "No space left on device"})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the running step was not interrupted")
	}
	err := vmwatch.AsFailure(context.Cause(ctx))
	if err == nil || !strings.Contains(err.Error(), "no space left on the output directory's filesystem ("+dir+")") {
		t.Fatalf("want the VM failure as the build's cause, got %v", context.Cause(ctx))
	}
	if driver.VM.StopCalls != 1 {
		t.Fatalf("QEMU stopped %d times, want once", driver.VM.StopCalls)
	}
}

// A step that fails on the dropped connection of a guest powering off
// usually halts a moment before QEMU says so: the cleanup waits briefly
// for the watch, so the build reports the power-off, not the symptom.
func TestStepRunVM_cleanupAfterAHaltGivesTheWatchAMomentToReport(t *testing.T) {
	state, driver, dir := runVMState(t)
	var reported []error
	step := &stepRunVM{Spec: testSpec(), OutputDir: dir, Abort: func(err error) { reported = append(reported, err) }, WatchInterval: 20 * time.Millisecond}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	state.Put(multistep.StateHalted, true)
	go func() {
		time.Sleep(500 * time.Millisecond)
		driver.VM.Emit("SHUTDOWN", map[string]interface{}{"guest": true, "reason": "guest-shutdown"})
		driver.VM.Exit(nil)
	}()
	step.Cleanup(state)
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "powered off") {
		t.Fatalf("reported %v, want the power-off", reported)
	}
}

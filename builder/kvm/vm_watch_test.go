package kvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

// watchedVM starts a watch on a mock VM with a serial log, and returns the
// watch and the errors it passed to onFailure.
func watchedVM(t *testing.T) (*qemumock.VMMock, *vmWatch, chan error) {
	t.Helper()
	vm := qemumock.NewVMMock()
	log := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(log, []byte("[  OK  ] Started ssh.service\nprovisioning...\n"), 0o644)
	reported := make(chan error, 4)
	w := startVMWatch(vm, log, "/srv/out", 20*time.Millisecond, func(err error) { reported <- err })
	t.Cleanup(w.Stop)
	return vm, w, reported
}

// failure waits for the watch to report, and checks it reported once, with
// the serial console's tail.
func failure(t *testing.T, w *vmWatch, reported chan error) error {
	t.Helper()
	select {
	case <-w.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("the watch reported nothing")
	}
	err := <-reported
	if err != w.Err() || asVMFailure(err) == nil {
		t.Fatalf("onFailure got %v, Err() is %v", err, w.Err())
	}
	if !strings.Contains(err.Error(), "provisioning...") {
		t.Errorf("the failure lacks the serial tail: %v", err)
	}
	return err
}

func noFailure(t *testing.T, w *vmWatch) {
	t.Helper()
	select {
	case <-w.Failed():
		t.Fatalf("unexpected failure: %v", w.Err())
	case <-time.After(200 * time.Millisecond):
	}
}

// QEMU's default for a full host filesystem (werror=enospc) pauses the
// guest: the event says so with nospace and action "stop".
func TestVMWatch_aGuestPausedOnAFullDiskFailsNamingTheOutputDirectory(t *testing.T) {
	vm, w, reported := watchedVM(t)
	vm.Emit("BLOCK_IO_ERROR", map[string]interface{}{"device": "disk0", "operation": "write", "action": "stop", "nospace": true, "reason": "No space left on device"})
	vm.SetStatus("io-error")
	err := failure(t, w, reported)
	for _, want := range []string{"paused on a disk I/O error", "no space left", "/srv/out"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// An I/O error reported to the guest does not stop it: not a failure by
// itself, but its reason is kept for a later pause.
func TestVMWatch_anIOErrorTheGuestWasToldAboutIsNotAFailure(t *testing.T) {
	vm, w, reported := watchedVM(t)
	vm.Emit("BLOCK_IO_ERROR", map[string]interface{}{"device": "disk0", "action": "report", "nospace": false, "reason": "Input/output error"})
	noFailure(t, w)
	vm.SetStatus("io-error")
	if err := failure(t, w, reported); !strings.Contains(err.Error(), "Input/output error") || !strings.Contains(err.Error(), `"io-error"`) {
		t.Fatalf("want the remembered reason with the status, got %v", err)
	}
}

// Events may be dropped: the status poll alone finds a stopped guest.
func TestVMWatch_theStatusPollFindsAStoppedGuestWithoutEvents(t *testing.T) {
	vm, w, reported := watchedVM(t)
	vm.SetStatus("internal-error")
	if err := failure(t, w, reported); !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("got %v", err)
	}
}

func TestVMWatch_aGuestThatPowersOffDuringTheBuildFails(t *testing.T) {
	vm, w, reported := watchedVM(t)
	vm.Emit("SHUTDOWN", map[string]interface{}{"guest": true, "reason": "guest-shutdown"})
	vm.Exit(nil)
	if err := failure(t, w, reported); !strings.Contains(err.Error(), "the guest powered off during the build") {
		t.Fatalf("got %v", err)
	}
}

// QEMU exits right after its SHUTDOWN event; the event still names the
// reason when the exit is noticed first.
func TestVMWatch_theShutdownReasonWinsOverTheExitThatFollows(t *testing.T) {
	for i := 0; i < 20; i++ {
		vm, w, reported := watchedVM(t)
		vm.Emit("SHUTDOWN", map[string]interface{}{"guest": true, "reason": "guest-shutdown"})
		vm.Exit(nil)
		if err := failure(t, w, reported); !strings.Contains(err.Error(), "powered off") {
			t.Fatalf("round %d: got %v", i, err)
		}
	}
}

func TestVMWatch_QEMUExitingFailsWithItsReason(t *testing.T) {
	vm, w, reported := watchedVM(t)
	vm.Exit(errors.New("signal: killed"))
	if err := failure(t, w, reported); !strings.Contains(err.Error(), "QEMU exited during the build: signal: killed") {
		t.Fatalf("got %v", err)
	}
}

// The builder's own power-off at the end is not a failure.
func TestVMWatch_anExpectedShutdownIsNotAFailure(t *testing.T) {
	vm, w, _ := watchedVM(t)
	w.ExpectShutdown()
	vm.Emit("SHUTDOWN", map[string]interface{}{"guest": true, "reason": "guest-shutdown"})
	vm.Exit(nil)
	noFailure(t, w)
}

// A full disk while the guest flushes on its way down is still a failure.
func TestVMWatch_aFullDiskDuringTheShutdownStillFails(t *testing.T) {
	vm, w, reported := watchedVM(t)
	w.ExpectShutdown()
	vm.Emit("BLOCK_IO_ERROR", map[string]interface{}{"device": "disk0", "action": "stop", "nospace": true, "reason": "No space left on device"})
	if err := failure(t, w, reported); !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("got %v", err)
	}
}

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
	state, driver := testState(t)
	dir := t.TempDir()
	keyWorkDir.Put(state, dir)
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, dir+"/disk.qcow2")
	keySeedPath.Put(state, dir+"/seed.iso")
	keySSHHostPort.Put(state, 2999)
	driver.VM = qemumock.NewVMMock()

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
	err := asVMFailure(context.Cause(ctx))
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
	state, driver := testState(t)
	dir := t.TempDir()
	keyWorkDir.Put(state, dir)
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, dir+"/disk.qcow2")
	keySeedPath.Put(state, dir+"/seed.iso")
	keySSHHostPort.Put(state, 2999)
	driver.VM = qemumock.NewVMMock()
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

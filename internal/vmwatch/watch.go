// Package vmwatch follows a running QEMU guest for the things that make a
// build pointless to continue: the guest stopping, QEMU exiting (Watch), a
// boot that gets nowhere (BootProgress, Activity) and UEFI firmware giving
// up (FirmwareBoot). Every error it reports ends with the serial console's
// tail (SerialLog).
package vmwatch

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// Watch follows the VM from its start to its expected power-off and
// reports the first thing that makes the build pointless to continue: a
// guest paused on a disk I/O error (typically the output directory's
// filesystem is full), a guest that powered off, panicked or hit a
// hypervisor error, or a QEMU process that exited. Whatever step is
// running, the build then ends within seconds with the reason and the
// serial console's tail instead of hanging (a paused guest answers no
// SSH) or failing later with a misleading network error.
//
// It listens to QMP events and also polls the run state, so a dropped
// event only delays the report by one poll interval.
type Watch struct {
	vm   qemu.VM
	opts Options

	mu        sync.Mutex
	failure   error
	expected  bool
	lastIOErr string

	failed chan struct{}
	done   chan struct{}
	ended  chan struct{}
}

// Options configure a Watch.
type Options struct {
	// Serial is the guest's serial console log, whose tail ends the errors.
	Serial SerialLog
	// DiskDir is where the build's writable disks live, named when the
	// guest stops because that filesystem is full.
	DiskDir string
	// Interval is how often the run state is polled (1s if 0).
	Interval time.Duration
	// OnFailure, if set, is called once, from the watch's goroutine, with
	// the error.
	OnFailure func(error)
}

// Failure marks an error found by the watch, so the builder can prefer it
// to the secondary errors the interrupted step reports.
type Failure struct {
	// Message is the whole error text: the reason and the serial
	// console's tail.
	Message string
}

func (e *Failure) Error() string { return e.Message }

// stoppedStates are QMP run states a guest does not leave by itself.
var stoppedStates = map[string]string{
	"internal-error": "the hypervisor stopped the guest on an internal error",
	"guest-panicked": "the guest kernel panicked",
	"shutdown":       "the guest powered off",
	"io-error":       "the guest paused on a disk I/O error",
}

// Start starts watching vm; Stop ends the watch.
func Start(vm qemu.VM, opts Options) *Watch {
	if opts.Interval == 0 {
		opts.Interval = time.Second
	}
	w := &Watch{
		vm: vm, opts: opts,
		failed: make(chan struct{}), done: make(chan struct{}), ended: make(chan struct{}),
	}
	go w.loop()
	return w
}

// Failed is closed once the watch has found a failure.
func (w *Watch) Failed() <-chan struct{} { return w.failed }

// Err is the failure found, or nil.
func (w *Watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failure
}

// ExpectShutdown tells the watch that the guest is now being powered off
// on purpose: from then on a power-off or QEMU's exit is not a failure
// (a disk I/O error still is).
func (w *Watch) ExpectShutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expected = true
}

// Settle waits up to grace for a failure the watch may be about to report:
// a step that fails on a dropped SSH connection usually does so a moment
// before QEMU reports that the guest powered off.
func (w *Watch) Settle(grace time.Duration) {
	select {
	case <-w.failed:
	case <-w.ended:
	case <-time.After(grace):
	}
}

// Stop ends the watch and waits for its goroutine.
func (w *Watch) Stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	<-w.ended
}

func (w *Watch) loop() {
	defer close(w.ended)
	tick := time.NewTicker(w.opts.Interval)
	defer tick.Stop()
	events := w.vm.Events()
	for !w.hasFailed() {
		select {
		case <-w.done:
			return
		case <-w.vm.Exited():
			w.onExit(events)
			return
		case e, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			w.onEvent(e)
		case <-tick.C:
			w.poll()
		}
	}
}

func (w *Watch) hasFailed() bool {
	select {
	case <-w.failed:
		return true
	default:
		return false
	}
}

// onExit reads the events QEMU sent just before it exited (they carry the
// reason, such as a guest power-off) before blaming the exit itself.
func (w *Watch) onExit(events <-chan qemu.VMEvent) {
	deadline := time.After(time.Second)
	for events != nil && !w.hasFailed() {
		select {
		case e, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			w.onEvent(e)
		case <-deadline:
			events = nil
		}
	}
	if w.isExpected() {
		return
	}
	why := "exit status 0"
	if err := w.vm.ExitError(); err != nil {
		why = err.Error()
	}
	w.fail(fmt.Sprintf("QEMU exited during the build: %s", why))
}

func (w *Watch) onEvent(e qemu.VMEvent) {
	switch e.Name {
	case "BLOCK_IO_ERROR":
		w.onIOError(e.Data)
	case "STOP":
		w.poll()
	case "GUEST_PANICKED":
		w.fail(stoppedStates["guest-panicked"])
	case "SHUTDOWN":
		if w.isExpected() {
			return
		}
		reason, _ := e.Data["reason"].(string)
		switch reason {
		case "guest-shutdown":
			w.fail("the guest powered off during the build (did a provisioner run poweroff, shutdown or halt? The builder powers the guest off itself after provisioning)")
		case "guest-panic":
			w.fail(stoppedStates["guest-panicked"])
		case "host-signal":
			w.fail("QEMU was stopped by a signal during the build (an interrupt, or another process ended it)")
		default:
			w.fail(fmt.Sprintf("QEMU shut the guest down during the build (reason %q)", reason))
		}
	}
}

// onIOError reads a BLOCK_IO_ERROR event: with action "stop" QEMU has
// paused the guest (its default for a full host disk, werror=enospc).
// Errors the guest was told about (action "report") are only remembered
// for the message, as the guest may cope with them.
func (w *Watch) onIOError(data map[string]interface{}) {
	device, _ := data["device"].(string)
	if device == "" {
		device, _ = data["node-name"].(string)
	}
	reason, _ := data["reason"].(string)
	nospace, _ := data["nospace"].(bool)
	msg := fmt.Sprintf("the guest paused on a disk I/O error on drive %q: %s", device, reason)
	if nospace {
		msg = fmt.Sprintf("the guest paused on a disk I/O error: no space left on the output directory's filesystem (%s); free space there or choose another output_directory", w.opts.DiskDir)
	}
	w.mu.Lock()
	w.lastIOErr = msg
	w.mu.Unlock()
	if action, _ := data["action"].(string); action == "stop" {
		w.fail(msg)
	}
}

func (w *Watch) poll() {
	status, err := w.vm.Status(context.Background())
	if err != nil {
		return
	}
	why, stopped := stoppedStates[status]
	if !stopped || status == "shutdown" && w.isExpected() {
		return
	}
	w.mu.Lock()
	if status == "io-error" && w.lastIOErr != "" {
		why = w.lastIOErr
	}
	w.mu.Unlock()
	w.fail(fmt.Sprintf("%s (QMP status %q)", why, status))
}

func (w *Watch) isExpected() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expected
}

func (w *Watch) fail(msg string) {
	w.mu.Lock()
	if w.failure != nil {
		w.mu.Unlock()
		return
	}
	err := &Failure{Message: msg + w.opts.Serial.Tail(30)}
	w.failure = err
	close(w.failed)
	w.mu.Unlock()
	log.Printf("[ERROR] VM watch: %s", msg)
	if w.opts.OnFailure != nil {
		w.opts.OnFailure(err)
	}
}

// AsFailure returns the watch's failure behind err, if there is one.
func AsFailure(err error) error {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return nil
}

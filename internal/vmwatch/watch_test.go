package vmwatch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

// watchedVM starts a watch on a mock VM with a serial log, and returns the
// watch and the errors it passed to onFailure.
func watchedVM(t *testing.T) (*qemumock.VMMock, *Watch, chan error) {
	t.Helper()
	vm := qemumock.NewVMMock()
	log := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(log, []byte("[  OK  ] Started ssh.service\nprovisioning...\n"), 0o644)
	reported := make(chan error, 4)
	w := Start(vm, Options{Serial: SerialLog{Path: log}, DiskDir: "/srv/out", Interval: 20 * time.Millisecond, OnFailure: func(err error) { reported <- err }})
	t.Cleanup(w.Stop)
	return vm, w, reported
}

// failure waits for the watch to report, and checks it reported once, with
// the serial console's tail.
func failure(t *testing.T, w *Watch, reported chan error) error {
	t.Helper()
	select {
	case <-w.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("the watch reported nothing")
	}
	err := <-reported
	if err != w.Err() || AsFailure(err) == nil {
		t.Fatalf("onFailure got %v, Err() is %v", err, w.Err())
	}
	if !strings.Contains(err.Error(), "provisioning...") {
		t.Errorf("the failure lacks the serial tail: %v", err)
	}
	return err
}

func noFailure(t *testing.T, w *Watch) {
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

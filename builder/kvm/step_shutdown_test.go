package kvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
)

func TestStepShutdown_waitsForTheGuestToPowerOff(t *testing.T) {
	state, _ := testState(t)
	vm := qemumock.NewVMMock()
	vm.PowerDownExits = true
	keyVM.Put(state, vm)
	if action := (&stepShutdown{Timeout: time.Second}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if vm.PowerDownCalls != 1 || vm.StopCalls != 0 {
		t.Fatalf("powerdown %d, stop %d: a guest that powers off must not be stopped", vm.PowerDownCalls, vm.StopCalls)
	}
}

// By default a guest that ignores the power-off fails the build, with the
// serial console's tail, rather than leaving an image that needs fsck.
func TestStepShutdown_aGuestThatDoesNotPowerOffFailsTheBuild(t *testing.T) {
	state, _ := testState(t)
	vm := qemumock.NewVMMock()
	keyVM.Put(state, vm)
	log := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(log, []byte("[  OK  ] Reached target Power-Off.\nA stop job is running for Hung Service (4min / no limit)\n"), 0o644)
	keySerialLog.Put(state, log)
	action := (&stepShutdown{Timeout: 200 * time.Millisecond}).Run(context.Background(), state)
	err := stateErr(state)
	if action != multistep.ActionHalt || err == nil {
		t.Fatal("a guest that did not power off gave an image")
	}
	for _, want := range []string{"did not power off within 200ms (shutdown_timeout)", "force_shutdown_on_timeout", "A stop job is running for Hung Service"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// force_shutdown_on_timeout keeps the old way: stop QEMU, carry on.
func TestStepShutdown_forceStopsAGuestThatIgnoresThePowerDown(t *testing.T) {
	state, _ := testState(t)
	vm := qemumock.NewVMMock()
	keyVM.Put(state, vm)
	start := time.Now()
	if action := (&stepShutdown{Timeout: 200 * time.Millisecond, ForceOnTimeout: true}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if vm.StopCalls != 1 {
		t.Fatalf("QEMU was stopped %d times, want once after the timeout", vm.StopCalls)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatal("stopped before shutdown_timeout passed")
	}
}

// The VM watch is told the power-off is wanted, so it does not fail it.
func TestStepShutdown_theWatchAcceptsThePowerOff(t *testing.T) {
	state, _ := testState(t)
	vm := qemumock.NewVMMock()
	vm.PowerDownExits = true
	keyVM.Put(state, vm)
	watch := vmwatch.Start(vm, vmwatch.Options{DiskDir: "/out", Interval: 10 * time.Millisecond})
	defer watch.Stop()
	keyVMWatch.Put(state, watch)
	if action := (&stepShutdown{Timeout: time.Second}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	watch.Settle(200 * time.Millisecond)
	if err := watch.Err(); err != nil {
		t.Fatalf("the expected power-off was reported as a failure: %v", err)
	}
}

func TestStepShutdown_cancelHalts(t *testing.T) {
	state, _ := testState(t)
	keyVM.Put(state, qemumock.NewVMMock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if action := (&stepShutdown{Timeout: time.Minute}).Run(ctx, state); action != multistep.ActionHalt {
		t.Fatal("a cancelled build kept waiting for the shutdown")
	}
}

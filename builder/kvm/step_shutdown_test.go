package kvm

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepShutdown_waitsForTheGuestToPowerOff(t *testing.T) {
	state, _ := testState(t)
	vm := NewVMMock()
	vm.PowerDownExits = true
	state.Put("vm", vm)
	if action := (&stepShutdown{Timeout: time.Second}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if vm.PowerDownCalls != 1 || vm.StopCalls != 0 {
		t.Fatalf("powerdown %d, stop %d: a guest that powers off must not be stopped", vm.PowerDownCalls, vm.StopCalls)
	}
}

func TestStepShutdown_stopsAGuestThatIgnoresThePowerDown(t *testing.T) {
	state, _ := testState(t)
	vm := NewVMMock()
	state.Put("vm", vm)
	start := time.Now()
	if action := (&stepShutdown{Timeout: 200 * time.Millisecond}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if vm.StopCalls != 1 {
		t.Fatalf("QEMU was stopped %d times, want once after the timeout", vm.StopCalls)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatal("stopped before shutdown_timeout passed")
	}
}

func TestStepShutdown_cancelHalts(t *testing.T) {
	state, _ := testState(t)
	state.Put("vm", NewVMMock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if action := (&stepShutdown{Timeout: time.Minute}).Run(ctx, state); action != multistep.ActionHalt {
		t.Fatal("a cancelled build kept waiting for the shutdown")
	}
}

package kvm

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// testSpec is a small VM for the run-VM step's tests.
func testSpec() qemu.Spec {
	return qemu.Spec{Name: "packer-base", MachineType: "q35", CPUs: 2, MemoryMiB: 2048}
}

func TestStepRunVM_startsAndAlwaysStopsQEMU(t *testing.T) {
	state, driver, dir := runVMState(t)
	step := &stepRunVM{Spec: testSpec()}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if !strings.Contains(strings.Join(driver.StartArgs, " "), "hostfwd=tcp:127.0.0.1:2999-:22") {
		t.Fatalf("the reserved port was not forwarded: %v", driver.StartArgs)
	}
	if keySerialLog.Get(state) != dir+"/serial.log" {
		t.Fatalf("serial log %v, want it in the work dir", keySerialLog.Get(state))
	}
	step.Cleanup(state)
	if driver.VM.StopCalls != 1 {
		t.Fatal("Cleanup did not stop QEMU")
	}
}

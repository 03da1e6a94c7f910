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
	state, driver := testState(t)
	dir := t.TempDir()
	state.Put("work_dir", dir)
	state.Put("accelerator", "tcg")
	state.Put("overlay_path", dir+"/disk.qcow2")
	state.Put("seed_path", dir+"/seed.iso")
	state.Put("ssh_host_port", 2999)
	step := &stepRunVM{Spec: testSpec()}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if !strings.Contains(strings.Join(driver.StartArgs, " "), "hostfwd=tcp:127.0.0.1:2999-:22") {
		t.Fatalf("the reserved port was not forwarded: %v", driver.StartArgs)
	}
	if state.Get("serial_log") != dir+"/serial.log" {
		t.Fatalf("serial log %v, want it in the work dir", state.Get("serial_log"))
	}
	step.Cleanup(state)
	if driver.VM.StopCalls != 1 {
		t.Fatal("Cleanup did not stop QEMU")
	}
}

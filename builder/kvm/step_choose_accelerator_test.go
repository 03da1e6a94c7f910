package kvm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepChooseAccelerator(t *testing.T) {
	broken := errors.New("KVM stopped the guest: emulation failure")
	cases := []struct {
		mode     string
		probeErr error
		want     string
		halt     bool
		probes   int
	}{
		{mode: "tcg", want: "tcg", probes: 0},
		{mode: "auto", want: "kvm", probes: 1},
		{mode: "auto", probeErr: broken, want: "tcg", probes: 1},
		{mode: "kvm", want: "kvm", probes: 1},
		{mode: "kvm", probeErr: broken, halt: true, probes: 1},
	}
	for _, tc := range cases {
		t.Run(tc.mode+"/"+tc.want, func(t *testing.T) {
			state, driver := testState(t)
			driver.ProbeKVMErr = tc.probeErr
			step := &stepChooseAccelerator{Mode: tc.mode, MachineType: "q35", ProbeTimeout: time.Second}
			action := step.Run(context.Background(), state)
			if driver.ProbeKVMCalls != tc.probes {
				t.Fatalf("probed %d times, want %d", driver.ProbeKVMCalls, tc.probes)
			}
			if tc.halt {
				if action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "emulation failure") {
					t.Fatalf("want a halt naming the probe's reason, got %v", stateErr(state))
				}
				return
			}
			if action != multistep.ActionContinue || state.Get("accelerator") != tc.want {
				t.Fatalf("accelerator %v (err %v), want %s", state.Get("accelerator"), stateErr(state), tc.want)
			}
		})
	}
}

func TestStepChooseAccelerator_foreignGuestIsEmulatedWithoutProbe(t *testing.T) {
	cases := []struct {
		mode string
		halt bool
	}{{"auto", false}, {"tcg", false}, {"kvm", true}}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			state, driver := testState(t)
			step := &stepChooseAccelerator{Mode: tc.mode, MachineType: "virt", ProbeTimeout: time.Second, Arch: "aarch64", HostArch: "x86_64"}
			action := step.Run(context.Background(), state)
			if driver.ProbeKVMCalls != 0 {
				t.Fatalf("probed KVM %d times for a foreign guest", driver.ProbeKVMCalls)
			}
			if tc.halt {
				if action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "cannot run an aarch64 guest on this x86_64 host") {
					t.Fatalf("want a halt explaining the architectures, got %v", stateErr(state))
				}
				return
			}
			if action != multistep.ActionContinue || state.Get("accelerator") != "tcg" {
				t.Fatalf("accelerator %v (err %v), want tcg", state.Get("accelerator"), stateErr(state))
			}
		})
	}
}

func TestStepChooseAccelerator_sameArchStillProbes(t *testing.T) {
	state, driver := testState(t)
	step := &stepChooseAccelerator{Mode: "auto", MachineType: "virt", ProbeTimeout: time.Second, Arch: "aarch64", HostArch: "aarch64"}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue || driver.ProbeKVMCalls != 1 || state.Get("accelerator") != "kvm" {
		t.Fatalf("action %v probes %d accelerator %v, want one probe choosing kvm", action, driver.ProbeKVMCalls, state.Get("accelerator"))
	}
}

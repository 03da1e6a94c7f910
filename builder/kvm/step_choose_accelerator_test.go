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

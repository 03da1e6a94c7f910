package kvm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
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
			if action != multistep.ActionContinue || keyAccelerator.Get(state) != tc.want {
				t.Fatalf("accelerator %v (err %v), want %s", keyAccelerator.Get(state), stateErr(state), tc.want)
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
			if action != multistep.ActionContinue || keyAccelerator.Get(state) != "tcg" {
				t.Fatalf("accelerator %v (err %v), want tcg", keyAccelerator.Get(state), stateErr(state))
			}
		})
	}
}

func TestStepChooseAccelerator_sameArchStillProbes(t *testing.T) {
	state, driver := testState(t)
	step := &stepChooseAccelerator{Mode: "auto", MachineType: "virt", ProbeTimeout: time.Second, Arch: "aarch64", HostArch: "aarch64"}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue || driver.ProbeKVMCalls != 1 || keyAccelerator.Get(state) != "kvm" {
		t.Fatalf("action %v probes %d accelerator %v, want one probe choosing kvm", action, driver.ProbeKVMCalls, keyAccelerator.Get(state))
	}
}

// Under auto, the verdicts decide before the probe: a remembered failure
// goes straight to TCG and says where it is remembered, a remembered
// success skips the probe while /dev/kvm opens, a failure earlier in the
// build (Avoid) wins over both, and a fresh probe failure is remembered.
func TestStepChooseAccelerator_verdicts(t *testing.T) {
	devKVM := filepath.Join(t.TempDir(), "kvm")
	if err := os.WriteFile(devKVM, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noDevKVM := filepath.Join(t.TempDir(), "missing")
	broken := errors.New("KVM stopped the guest: emulation failure")
	cases := []struct {
		name       string
		mode       string
		remembered string // "", "kvm" or "tcg"
		dev        string
		avoid      error
		probeErr   error
		want       string
		probes     int
		stored     string // the verdict after the step ("" for none)
		says       string
	}{
		{name: "nothing remembered, KVM works", mode: "auto", dev: devKVM, want: "kvm", probes: 1, says: "Accelerator: kvm"},
		{name: "nothing remembered, probe fails", mode: "auto", dev: devKVM, probeErr: broken, want: "tcg", probes: 1, stored: "tcg", says: "emulation failure"},
		{name: "remembered failure", mode: "auto", remembered: "tcg", dev: devKVM, want: "tcg", probes: 0, stored: "tcg", says: "delete that file to probe again"},
		{name: "remembered success", mode: "auto", remembered: "kvm", dev: devKVM, want: "kvm", probes: 0, stored: "kvm", says: "it ran a guest on this host before"},
		{name: "remembered success, device gone", mode: "auto", remembered: "kvm", dev: noDevKVM, probeErr: broken, want: "tcg", probes: 1, stored: "tcg"},
		{name: "failed earlier in this build", mode: "auto", dev: devKVM, avoid: errors.New("KVM stopped the guest before it reached SSH"), want: "tcg", probes: 0, says: "before it reached SSH"},
		{name: "explicit kvm ignores a remembered failure", mode: "kvm", remembered: "tcg", dev: devKVM, want: "kvm", probes: 1, stored: "tcg"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			state, driver := testState(t)
			driver.ProbeKVMErr = tc.probeErr
			out := new(bytes.Buffer)
			keyUI.Put(state, &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: out, ErrorWriter: out})
			store := &qemu.VerdictStore{Dir: t.TempDir()}
			version, _ := driver.QemuVersion(context.Background())
			host := qemu.CurrentHost(version, "q35", "host")
			if tc.remembered != "" {
				if _, err := store.Save(qemu.AcceleratorVerdict{Accelerator: tc.remembered, Reason: "failed to set MSR 0x10a", Host: host}); err != nil {
					t.Fatal(err)
				}
			}
			step := &stepChooseAccelerator{Mode: tc.mode, MachineType: "q35", ProbeTimeout: time.Second, HostOS: "linux", HostArch: "x86_64", Arch: "x86_64",
				Verdicts: store, Avoid: tc.avoid, DevKVM: tc.dev}
			if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
				t.Fatalf("halted: %v", stateErr(state))
			}
			if got := keyAccelerator.Get(state); got != tc.want || driver.ProbeKVMCalls != tc.probes {
				t.Fatalf("accelerator %v after %d probes, want %s after %d", got, driver.ProbeKVMCalls, tc.want, tc.probes)
			}
			stored := ""
			if v, ok := store.Load(host); ok {
				stored = v.Accelerator
			}
			if stored != tc.stored {
				t.Fatalf("stored verdict %q, want %q", stored, tc.stored)
			}
			if !strings.Contains(out.String(), tc.says) || strings.Count(out.String(), "Accelerator:") != 1 {
				t.Fatalf("output %q should say %q in one Accelerator line", out.String(), tc.says)
			}
		})
	}
}

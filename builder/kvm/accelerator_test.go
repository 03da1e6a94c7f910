package kvm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// The QEMU command line each host's accelerator produces.
func TestQemuArgs_perHostAccelerator(t *testing.T) {
	for _, tc := range []struct{ goos, want string }{
		{"linux", "-accel kvm -cpu host"},
		{"darwin", "-accel hvf -cpu host"},
		{"windows", "-accel whpx -cpu max"},
		{"freebsd", "-accel tcg -cpu max"},
	} {
		t.Run(tc.goos, func(t *testing.T) {
			state, _ := testState(t)
			step := &stepChooseAccelerator{Mode: "auto", MachineType: "q35", ProbeTimeout: time.Second, HostOS: tc.goos,
				ProbeNative: func(string) error { return nil }}
			if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
				t.Fatalf("halted: %v", stateErr(state))
			}
			cmdline := strings.Join(qemu.Args(testSpec(), qemu.Media{Accelerator: keyAccelerator.Get(state)}), " ")
			if !strings.Contains(cmdline, tc.want) {
				t.Errorf("command line lacks %q:\n%s", tc.want, cmdline)
			}
		})
	}
}

// Prepare refuses another OS's accelerator at validate time.
func TestPrepare_acceleratorOfAnotherHostOS(t *testing.T) {
	onMacOS := func(accel string) error {
		raw := minimalConfig()
		raw["accelerator"] = accel
		c := Config{hostOS: "darwin"}
		_, err := c.Prepare(raw)
		return err
	}
	if err := onMacOS("hvf"); err != nil {
		t.Fatalf("hvf refused on macOS: %v", err)
	}
	err := onMacOS("kvm")
	if err == nil || !strings.Contains(err.Error(), `accelerator "kvm" runs only on Linux hosts`) {
		t.Fatalf("error %v, want kvm refused on macOS", err)
	}
}

// The qemu builder's domainType state, which the vagrant post-processor's
// libvirt provider maps to a driver: it refuses accelerators it does not
// know, and knows kvm, hvf and tcg (WHPX is not among them).
func TestArtifact_domainTypeIsOneTheVagrantPostProcessorKnows(t *testing.T) {
	for accel, want := range map[string]string{"kvm": "kvm", "hvf": "hvf", "tcg": "tcg", "whpx": "tcg"} {
		if got := (&Artifact{Accelerator: accel}).State("domainType"); got != want {
			t.Errorf("built under %s: domainType %v, want %s", accel, got, want)
		}
	}
}

package kvm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// The choice of each accelerator mode on each host OS, with the host's
// accelerator working or not.
func TestSelectAccelerator_perHostOS(t *testing.T) {
	broken := errors.New("broken")
	cases := []struct {
		mode, goos string
		probeErr   error
		want       string // accelerator, or "error: <text>" or "fallback: <text>"
	}{
		{"auto", "linux", nil, "kvm"},
		{"auto", "linux", broken, "fallback: kvm is not usable (broken)"},
		{"auto", "darwin", nil, "hvf"},
		{"auto", "darwin", broken, "fallback: hvf is not usable (broken)"},
		{"auto", "windows", nil, "whpx"},
		{"auto", "windows", broken, "fallback: whpx is not usable (broken)"},
		{"auto", "freebsd", nil, "fallback: QEMU has no hardware accelerator on freebsd"},
		{"tcg", "darwin", nil, "tcg"},
		{"hvf", "darwin", nil, "hvf"},
		{"whpx", "windows", nil, "whpx"},
		{"kvm", "linux", broken, `error: accelerator = "kvm" but kvm cannot run the guest: broken`},
		{"hvf", "linux", nil, `error: accelerator "hvf" runs only on macOS hosts and this host is linux: use "auto" (which picks kvm on this host) or "tcg"`},
		{"kvm", "darwin", nil, `error: accelerator "kvm" runs only on Linux hosts and this host is darwin: use "auto" (which picks hvf on this host)`},
		{"whpx", "freebsd", nil, `error: accelerator "whpx" runs only on Windows hosts and this host is freebsd: use "tcg"`},
	}
	for _, tc := range cases {
		t.Run(tc.mode+"/"+tc.goos, func(t *testing.T) {
			var probed []string
			accel, fallback, err := selectAccelerator(tc.mode, tc.goos, func(a string) error {
				probed = append(probed, a)
				return tc.probeErr
			})
			got := accel
			switch {
			case err != nil:
				got = "error: " + err.Error()
			case fallback != nil:
				got = "fallback: " + fallback.Error()
				if accel != "tcg" {
					t.Errorf("fell back to %q, want tcg", accel)
				}
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if native := nativeAccelerators[tc.goos]; tc.mode == "auto" && native != "" && fmt.Sprint(probed) != "["+native+"]" {
				t.Errorf("probed %v, want the host's own %s", probed, native)
			}
		})
	}
}

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
			cmdline := strings.Join(qemuArgs(testSpec(), bootMedia{Accelerator: keyAccelerator.Get(state)}), " ")
			if !strings.Contains(cmdline, tc.want) {
				t.Errorf("command line lacks %q:\n%s", tc.want, cmdline)
			}
		})
	}
}

// Prepare refuses another OS's accelerator at validate time.
func TestPrepare_acceleratorOfAnotherHostOS(t *testing.T) {
	saved := hostOS
	defer func() { hostOS = saved }()
	hostOS = "darwin"
	if _, _, err := prepare(t, map[string]interface{}{"accelerator": "hvf"}); err != nil {
		t.Fatalf("hvf refused on macOS: %v", err)
	}
	_, _, err := prepare(t, map[string]interface{}{"accelerator": "kvm"})
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

package qemu

import (
	"errors"
	"fmt"
	"strings"
	"testing"
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
			accel, fallback, err := SelectAccelerator(tc.mode, tc.goos, func(a string) error {
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

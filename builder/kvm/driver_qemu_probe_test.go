package kvm

import (
	"os/exec"
	"testing"
	"time"
)

// The probe's empty machines must print under any accelerator; TCG shows
// on any host that each one runs and is seen running, so that on a host
// with a working KVM the probe succeeds for the right reason.
func TestKVMProbe_emptyMachinePrintsWhenItRuns(t *testing.T) {
	for _, spec := range []archSpec{archX8664, archAArch64} {
		t.Run(spec.Name, func(t *testing.T) {
			if _, err := exec.LookPath(spec.QemuBinary); err != nil {
				t.Skipf("%s is not installed", spec.QemuBinary)
			}
			probe, err := newKVMProbe(spec.Name, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"-accel", "tcg", "-machine", spec.Machine, "-cpu", "max", "-m", "128",
				"-nodefaults", "-display", "none", "-no-user-config"}, probe.args...)
			cmd := exec.Command(spec.QemuBinary, args...)
			out := &lockedBuffer{}
			cmd.Stderr = out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() { cmd.Process.Kill(); <-exited }()
			deadline := time.After(30 * time.Second)
			for !probe.ran() {
				select {
				case err := <-exited:
					exited <- err
					t.Fatalf("QEMU exited (%v): %s", err, out.String())
				case <-deadline:
					t.Fatalf("the %s probe machine printed nothing in 30s; QEMU said: %s", spec.Name, out.String())
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
}

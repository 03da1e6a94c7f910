package kvm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepStartTPM_offDoesNothing(t *testing.T) {
	state, _ := testState(t)
	step := &stepStartTPM{Enabled: false, Binary: "swtpm"}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if _, ok := keyTPMSocket.GetOk(state); ok {
		t.Fatal("tpm_socket set with tpm off")
	}
	step.Cleanup(state)
}

func TestStepStartTPM_missingSwtpmNamesThePackage(t *testing.T) {
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	step := &stepStartTPM{Enabled: true, Binary: "swtpm-not-installed"}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("a missing swtpm did not halt")
	}
	if err := stateErr(state).Error(); !strings.Contains(err, "apt-get install swtpm") || !strings.Contains(err, "swtpm_binary") {
		t.Fatalf("error %q does not name the package and the option", err)
	}
	step.Cleanup(state)
}

// With the real swtpm: the socket appears, the state lives in the work
// directory, and Cleanup leaves no process and no socket.
func TestStepStartTPM_startsSwtpmAndCleanupStopsIt(t *testing.T) {
	if _, err := exec.LookPath("swtpm"); err != nil {
		t.Skip("swtpm is not installed (scripts/deps.sh installs it)")
	}
	state, _ := testState(t)
	work := t.TempDir()
	keyWorkDir.Put(state, work)
	step := &stepStartTPM{Enabled: true, Binary: "swtpm"}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	socket := keyTPMSocket.Get(state)
	if st, err := os.Stat(socket); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no control socket at %s: %v", socket, err)
	}
	if len(socket) >= 108 {
		t.Fatalf("socket path %q too long for a unix socket", socket)
	}
	if st, err := os.Stat(filepath.Join(work, "tpm")); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("TPM state directory: %v", err)
	}
	pid := step.tpm.Pid()
	step.Cleanup(state)
	if _, err := os.Stat(filepath.Dir(socket)); !os.IsNotExist(err) {
		t.Fatalf("socket directory left: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "cmdline")); err == nil && strings.Contains(string(data), "swtpm") {
		t.Fatalf("swtpm (pid %d) still runs after Cleanup", pid)
	}
}

// A relative work directory (output_directory is relative by default) is
// made absolute, so swtpm's command line names the build it belongs to.
func TestStepStartTPM_stateDirectoryIsAbsolute(t *testing.T) {
	state, _ := testState(t)
	t.Chdir(t.TempDir())
	os.MkdirAll("output-x/.work", 0o755)
	keyWorkDir.Put(state, "output-x/.work")
	fake, _ := filepath.Abs("swtpm")
	os.WriteFile(fake, []byte("#!/bin/sh\nexit 1\n"), 0o755)
	step := &stepStartTPM{Enabled: true, Binary: fake}
	step.Run(context.Background(), state)
	defer step.Cleanup(state)
	want, _ := filepath.Abs("output-x/.work/tpm")
	if args := strings.Join(step.tpm.Args(), " "); !strings.Contains(args, "--tpmstate dir="+want+" ") {
		t.Fatalf("swtpm %s: want --tpmstate dir=%s", args, want)
	}
}

func TestStepStartTPM_swtpmThatFailsAtStartIsReported(t *testing.T) {
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	fake := filepath.Join(t.TempDir(), "swtpm")
	os.WriteFile(fake, []byte("#!/bin/sh\necho 'swtpm: bad option' >&2\nexit 1\n"), 0o755)
	step := &stepStartTPM{Enabled: true, Binary: fake}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("a failing swtpm did not halt")
	}
	if err := stateErr(state).Error(); !strings.Contains(err, "swtpm: bad option") {
		t.Fatalf("error %q lacks swtpm's message", err)
	}
	step.Cleanup(state)
}

func itoa(n int) string { return strconv.Itoa(n) }

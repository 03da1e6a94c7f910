package packertest

import (
	"os/exec"
	"testing"
	"time"
)

// InterruptAndWait presses Ctrl-C on a running `packer build` (SIGINT to
// its whole process group, see InterruptGroup) and waits for it to end,
// failing the test when packer is still running two minutes later.
func InterruptAndWait(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := InterruptGroup(cmd); err != nil {
		t.Fatalf("interrupting packer: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("packer did not stop within 2 minutes of SIGINT")
	}
}

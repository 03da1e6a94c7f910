package kvm

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// portLockFiles lists $PACKER_CACHE_DIR/port, where the SDK keeps one lock
// file per reserved port.
func portLockFiles(t *testing.T, cache string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cache, "port"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// The SSH port's lock file exists while the build runs and is gone after
// Cleanup (the listener used to be closed twice, and the SDK's second
// Close returned before removing the file).
func TestStepForwardSSHPort_cleanupRemovesThePortLockFile(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PACKER_CACHE_DIR", cache)
	state, _ := testState(t)
	step := &stepForwardSSHPort{MinPort: 2222, MaxPort: 4444}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if files := portLockFiles(t, cache); len(files) != 1 {
		t.Fatalf("want the port's lock file while the build runs, have %v", files)
	}
	step.Cleanup(state)
	if files := portLockFiles(t, cache); len(files) != 0 {
		t.Fatalf("Cleanup left port lock files behind: %v", files)
	}
}

func TestStepRunVM_cleanupRemovesTheVNCPortLockFile(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PACKER_CACHE_DIR", cache)
	state, _, step := vncRunVMStep(t)
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if files := portLockFiles(t, cache); len(files) != 1 {
		t.Fatalf("want the VNC port's lock file while the build runs, have %v", files)
	}
	step.Cleanup(state)
	if files := portLockFiles(t, cache); len(files) != 0 {
		t.Fatalf("Cleanup left port lock files behind: %v", files)
	}
}

package kvm

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestStepPrepareWorkDir_isHiddenInTheOutputAndAlwaysRemoved(t *testing.T) {
	state, _ := testState(t)
	out := t.TempDir()
	step := &stepPrepareWorkDir{OutputDir: out}
	step.Run(context.Background(), state)
	dir := keyWorkDir.Get(state)
	if filepath.Dir(dir) != out || filepath.Base(dir)[0] != '.' {
		t.Fatalf("work dir %s is not hidden inside %s", dir, out)
	}
	os.WriteFile(filepath.Join(dir, "disk.qcow2"), []byte("x"), 0o644)
	step.Cleanup(state)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("Cleanup left the work dir")
	}
}

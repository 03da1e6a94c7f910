package kvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

func entryNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Issue 15 item 8: a build killed with SIGKILL leaves its work directory
// (and maybe a temporary image); the next build removes them and runs.
func TestStepOutputDir_removesAKilledBuildsLeftovers(t *testing.T) {
	state, _ := testState(t)
	out := filepath.Join(t.TempDir(), "out")
	os.MkdirAll(filepath.Join(out, workDirPrefix+"123", "sub"), 0o755)
	os.WriteFile(filepath.Join(out, workDirPrefix+"123", "disk.qcow2"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(out, ".base.4567.tmp"), []byte("x"), 0o644)
	step := &stepOutputDir{Path: out}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if names := entryNames(t, out); len(names) != 0 {
		t.Fatalf("leftovers kept: %v", names)
	}
	if log := uiOutput(state); !strings.Contains(log, "left by an earlier build") {
		t.Fatalf("no message about the leftovers: %q", log)
	}
}

func TestStepOutputDir_anImageNeedsForceAndForceKeepsTheLockedDirectory(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "base.qcow2"), []byte("old"), 0o644)
	state, _ := testState(t)
	if action := (&stepOutputDir{Path: out}).Run(context.Background(), state); action != multistep.ActionHalt ||
		!strings.Contains(stateErr(state).Error(), "-force") {
		t.Fatalf("existing image accepted without -force: %v", stateErr(state))
	}
	state, _ = testState(t)
	if action := (&stepOutputDir{Path: out, Force: true}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("-force halted: %v", stateErr(state))
	}
	if names := entryNames(t, out); len(names) != 0 {
		t.Fatalf("-force kept %v", names)
	}
}

// Issue 15 item 7: -force must not delete a file given as output_directory.
func TestStepOutputDir_refusesAFileEvenWithForce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(file, []byte("keep me"), 0o644)
	state, _ := testState(t)
	step := &stepOutputDir{Path: file, Force: true}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("a file was accepted as output directory")
	}
	state.Put(multistep.StateHalted, true)
	step.Cleanup(state)
	if data, err := os.ReadFile(file); err != nil || string(data) != "keep me" {
		t.Fatalf("the file was touched: %q %v", data, err)
	}
}

func TestStepOutputDir_cleanupAfterFailure(t *testing.T) {
	parent := t.TempDir()
	created := filepath.Join(parent, "new")
	existing := filepath.Join(parent, "mine")
	os.Mkdir(existing, 0o755)
	for _, dir := range []string{created, existing} {
		state, _ := testState(t)
		step := &stepOutputDir{Path: dir}
		step.Run(context.Background(), state)
		os.WriteFile(filepath.Join(dir, "partial"), []byte("x"), 0o644)
		state.Put(multistep.StateCancelled, true)
		step.Cleanup(state)
	}
	if fileutil.Exists(created) {
		t.Error("a directory the build created survived its cancellation")
	}
	if names := entryNames(t, existing); !fileutil.Exists(existing) || len(names) != 0 {
		t.Errorf("a directory that existed before must be emptied, not removed: exists %v, holds %v", fileutil.Exists(existing), names)
	}
}

package kvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

// saveState is a cold warm-start build ready to save: a running VM, an
// overlay and UEFI variables in the work directory.
func saveState(t *testing.T) (multistep.StateBag, *qemumock.VMMock, string) {
	t.Helper()
	state, _ := testState(t)
	work := t.TempDir()
	cache := warmstart.CacheIn(t.TempDir())
	vm := qemumock.NewVMMock()
	vm.CommandReplies = map[string]string{"query-migrate": `{"status":"completed"}`}
	overlay := filepath.Join(work, "disk.qcow2")
	os.WriteFile(overlay, []byte("frozen layer"), 0o644)
	os.WriteFile(filepath.Join(work, "efivars.fd"), []byte("vars"), 0o600)
	in := testInputs()
	keyVM.Put(state, vm)
	keyWorkDir.Put(state, work)
	keyOverlayPath.Put(state, overlay)
	keyEFIVars.Put(state, filepath.Join(work, "efivars.fd"))
	keyInstanceID.Put(state, "packer-iid")
	keyWarm.Put(state, &warmState{Cache: cache, Key: in.Key(), Inputs: in, Started: time.Now().Add(-40 * time.Second)})
	return state, vm, cache.Root
}

func testInputs() warmstart.KeyInputs {
	return warmstart.KeyInputs{Source: "abc", SeedUser: "packer", Machine: "q35", CPUs: 1, MemoryMiB: 1024, Accelerator: "tcg", QemuVersion: "7.2", PluginVersion: "0.1.0"}
}

func TestStepWarmSave_savesAtOneInstantAndContinues(t *testing.T) {
	state, vm, root := saveState(t)
	driver := keyDriver.Get(state).(*qemumock.DriverMock)
	step := &stepWarmSave{KeyComment: "packer_1", Comm: &communicator.Config{SSH: communicator.SSH{SSHPrivateKey: []byte("PRIVATE")}}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	want := []string{"stop", "blockdev-snapshot-sync", "migrate-set-parameters", "migrate", "query-migrate", "cont"}
	if !reflect.DeepEqual(vm.CommandCalls, want) {
		t.Fatalf("QMP commands %v, want %v", vm.CommandCalls, want)
	}
	top := keyOverlayPath.Get(state)
	if filepath.Base(top) != "disk-run.qcow2" || !filepath.IsAbs(top) {
		t.Fatalf("the VM's disk is now %s, want the new top overlay", top)
	}
	// Its backing file is named by an absolute path, which qemu-img finds
	// from any directory.
	if calls := driver.CreateOverlayCalls; len(calls) != 1 || !filepath.IsAbs(calls[0][0].(string)) || calls[0][2] != top {
		t.Fatalf("overlay calls %v", calls)
	}
	in := warmOf(state).Inputs
	e, err := warmstart.Cache{Root: root}.Open(in)
	if err != nil {
		t.Fatalf("the saved entry does not verify: %v\n%s", err, uiOutput(state))
	}
	for name, want := range map[string]string{warmstart.DiskFile: "frozen layer", warmstart.KeyFile: "PRIVATE", warmstart.VarsFile: "vars", warmstart.StateFile: "migration stream"} {
		if got, _ := os.ReadFile(e.File(name)); string(got) != want {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
	if fi, _ := os.Stat(e.File(warmstart.KeyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode().Perm())
	}
	if e.Manifest.InstanceID != "packer-iid" || e.Manifest.KeyComment != "packer_1" || e.Manifest.BootSeconds < 39 {
		t.Errorf("manifest %+v", e.Manifest)
	}
	if !strings.Contains(uiOutput(state), "warm start: saved entry "+in.Key()[:12]) {
		t.Errorf("output: %s", uiOutput(state))
	}
}

func TestStepWarmSave_aFailedMigrationResumesTheVMAndLeavesNoEntry(t *testing.T) {
	state, vm, root := saveState(t)
	vm.CommandReplies["query-migrate"] = `{"status":"failed","error-desc":"disk full"}`
	step := &stepWarmSave{Comm: &communicator.Config{}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("a failed save halted the build: %v", stateErr(state))
	}
	step.Cleanup(state)
	if last := vm.CommandCalls[len(vm.CommandCalls)-1]; last != "cont" {
		t.Fatalf("the VM was left paused: %v", vm.CommandCalls)
	}
	if !strings.Contains(uiOutput(state), "disk full") {
		t.Errorf("output lacks the reason: %s", uiOutput(state))
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Fatalf("the cache holds %v", left)
	}
}

func TestStepWarmSave_haltsWhenTheVMCannotContinue(t *testing.T) {
	state, vm, _ := saveState(t)
	vm.CommandErrs = map[string]error{"cont": errors.New("no")}
	step := &stepWarmSave{Comm: &communicator.Config{}}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("a paused VM must end the build")
	}
}

func TestStepWarmSave_skipsResumedAndDisabledBuilds(t *testing.T) {
	state, vm, _ := saveState(t)
	warmOf(state).Entry = &warmstart.Entry{}
	(&stepWarmSave{}).Run(context.Background(), state)
	warmOf(state).Entry = nil
	warmOf(state).Key = ""
	(&stepWarmSave{}).Run(context.Background(), state)
	if len(vm.CommandCalls) != 0 {
		t.Fatalf("QMP commands %v", vm.CommandCalls)
	}
}

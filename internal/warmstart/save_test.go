package warmstart

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

// saveRequest is a running (mock) VM on an overlay with UEFI variables.
func saveRequest(t *testing.T) (SaveRequest, *qemumock.VMMock) {
	t.Helper()
	work := t.TempDir()
	vm := qemumock.NewVMMock()
	vm.CommandReplies = map[string]string{"query-migrate": `{"status":"completed"}`}
	overlay := filepath.Join(work, "disk.qcow2")
	os.WriteFile(overlay, []byte("frozen layer"), 0o644)
	vars := filepath.Join(work, "efivars.fd")
	os.WriteFile(vars, []byte("vars"), 0o600)
	return SaveRequest{
		Driver: &qemumock.DriverMock{}, VM: vm, Overlay: overlay, EFIVars: vars,
		PrivateKey: []byte("PRIVATE"), Inputs: testInputs(), InstanceID: "iid", KeyComment: "packer_1", Boot: 40 * time.Second,
	}, vm
}

func TestSave_writesAnEntryOpenFindsWhole(t *testing.T) {
	cache := CacheIn(t.TempDir())
	req, vm := saveRequest(t)
	saved, err := cache.Save(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"stop", "blockdev-snapshot-sync", "migrate-set-parameters", "migrate", "query-migrate", "cont"}
	if !reflect.DeepEqual(vm.CommandCalls, want) {
		t.Fatalf("QMP commands %v, want %v", vm.CommandCalls, want)
	}
	if filepath.Base(saved.Overlay) != "disk-run.qcow2" || !filepath.IsAbs(saved.Overlay) {
		t.Fatalf("the VM runs on %s, want the new top overlay", saved.Overlay)
	}
	e, err := cache.Open(req.Inputs)
	if err != nil || e.Dir != saved.Dir || saved.Size == 0 {
		t.Fatalf("entry %+v, saved %+v: %v", e, saved, err)
	}
	for name, want := range map[string]string{DiskFile: "frozen layer", KeyFile: "PRIVATE", VarsFile: "vars", StateFile: "migration stream"} {
		if got, _ := os.ReadFile(e.File(name)); string(got) != want {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
	if m := e.Manifest; m.InstanceID != "iid" || m.KeyComment != "packer_1" || m.BootSeconds != 40 {
		t.Errorf("manifest %+v", m)
	}
}

func TestSave_aFailedMigrationContinuesTheVMAndLeavesNoEntry(t *testing.T) {
	cache := CacheIn(t.TempDir())
	req, vm := saveRequest(t)
	vm.CommandReplies["query-migrate"] = `{"status":"failed","error-desc":"disk full"}`
	saved, err := cache.Save(context.Background(), req)
	var stopped *ContinueError
	if err == nil || errors.As(err, &stopped) {
		t.Fatalf("got %v, want a failed save of a VM that continued", err)
	}
	if last := vm.CommandCalls[len(vm.CommandCalls)-1]; last != "cont" {
		t.Fatalf("the VM was left paused: %v", vm.CommandCalls)
	}
	if filepath.Base(saved.Overlay) != "disk-run.qcow2" || saved.Dir != "" {
		t.Fatalf("saved %+v: the VM runs on the new overlay, and there is no entry", saved)
	}
	if left, _ := os.ReadDir(cache.Root); len(left) != 0 {
		t.Fatalf("the cache holds %v", left)
	}
}

func TestSave_aVMThatCannotContinueIsAContinueError(t *testing.T) {
	req, vm := saveRequest(t)
	vm.CommandErrs = map[string]error{"cont": errors.New("no")}
	_, err := CacheIn(t.TempDir()).Save(context.Background(), req)
	var stopped *ContinueError
	if !errors.As(err, &stopped) {
		t.Fatalf("got %v, want a ContinueError", err)
	}
}

package kvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

// restoreFixture is a build about to start QEMU, with a cache directory.
func restoreFixture(t *testing.T) (*stepWarmRestore, multistep.StateBag, *qemumock.DriverMock, string) {
	t.Helper()
	state, driver := testState(t)
	work, cache := t.TempDir(), t.TempDir()
	source := filepath.Join(work, "source.qcow2")
	os.WriteFile(source, []byte("source image"), 0o644)
	overlay := filepath.Join(work, "disk.qcow2")
	os.WriteFile(overlay, []byte("fresh overlay"), 0o644)
	keySourceImagePath.Put(state, source)
	keySourceImageFormat.Put(state, "qcow2")
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, overlay)
	keyInstanceID.Put(state, "packer-new")
	step := &stepWarmRestore{
		Enabled:  true,
		CacheDir: func() (string, error) { return cache, nil },
		Inputs:   warmstart.KeyInputs{SeedUser: "packer", MemoryMiB: 1024, PluginVersion: "0.1.0"},
		Comm:     &communicator.Config{SSH: communicator.SSH{SSHPrivateKey: []byte("NEW KEY")}},
		Revoke:   &stepRevokeBuildAccess{KeyComment: "packer_new"},
	}
	return step, state, driver, warmstart.CacheIn(cache).Root
}

func TestStepWarmRestore_aMissBootsColdWithVMGenID(t *testing.T) {
	step, state, _, _ := restoreFixture(t)
	if step.Run(context.Background(), state) != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if args := warmQemuArgs(state); !reflect.DeepEqual(args, warmstart.VMGenIDArgs()) {
		t.Fatalf("QEMU gets %v on a cold boot, want only the vmgenid device", args)
	}
	if warmOf(state).Entry != nil {
		t.Fatal("a miss resumed")
	}
	if !strings.Contains(uiOutput(state), "no saved VM for these inputs") {
		t.Fatal(uiOutput(state))
	}
	in := warmOf(state).Inputs
	if in.Source == "" || in.Accelerator != "tcg" || in.QemuVersion == "" || warmOf(state).Key != in.Key() {
		t.Fatalf("run-time inputs missing: %+v", in)
	}
}

// savedEntryFor runs the step once to learn the key, then saves an entry
// of a (mock) VM whose disk layer is "saved layer".
func savedEntryFor(t *testing.T, step *stepWarmRestore, state multistep.StateBag) string {
	t.Helper()
	probe := *step
	probeState, _ := testState(t)
	for _, k := range []stateKey[string]{keySourceImagePath, keySourceImageFormat, keyAccelerator, keyOverlayPath} {
		k.Put(probeState, k.Get(state))
	}
	probe.Run(context.Background(), probeState)
	layer := filepath.Join(t.TempDir(), "disk.qcow2")
	os.WriteFile(layer, []byte("saved layer"), 0o600)
	vm := qemumock.NewVMMock()
	vm.CommandReplies = map[string]string{"query-migrate": `{"status":"completed"}`}
	warm := warmOf(probeState)
	saved, err := warm.Cache.Save(context.Background(), warmstart.SaveRequest{
		Driver: &qemumock.DriverMock{}, VM: vm, Overlay: layer, PrivateKey: []byte("OLD KEY"),
		Inputs: warm.Inputs, InstanceID: "iid", KeyComment: "packer_old",
	})
	if err != nil {
		t.Fatal(err)
	}
	return saved.Dir
}

func TestStepWarmRestore_aHitPreparesTheResume(t *testing.T) {
	step, state, driver, _ := restoreFixture(t)
	entry := savedEntryFor(t, step, state)
	if step.Run(context.Background(), state) != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	overlay := keyOverlayPath.Get(state)
	if got, _ := os.ReadFile(overlay); string(got) != "saved layer" {
		t.Fatalf("the build's disk holds %q, want a copy of the saved layer", got)
	}
	source, _ := filepath.Abs(keySourceImagePath.Get(state))
	if !reflect.DeepEqual(driver.RebaseCalls, [][]string{{overlay, source, "qcow2"}}) {
		t.Fatalf("rebase calls %v", driver.RebaseCalls)
	}
	if string(step.Comm.SSHPrivateKey) != "OLD KEY" || step.Revoke.KeyComment != "packer_old" || keyInstanceID.Get(state) != "iid" {
		t.Fatalf("the build does not use the guest's key, key comment and instance-id")
	}
	args := warmQemuArgs(state)
	want := append(warmstart.VMGenIDArgs(), "-incoming", "exec:cat '"+filepath.Join(entry, warmstart.StateFile)+"'")
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("QEMU args %v, want %v", args, want)
	}
	if strings.Contains(uiOutput(state), "OLD KEY") {
		t.Fatal("the key reached the output")
	}
	// The entry is only read.
	if got, _ := os.ReadFile(filepath.Join(entry, warmstart.DiskFile)); string(got) != "saved layer" {
		t.Fatal("the entry was modified")
	}
}

func TestStepWarmRestore_aDamagedEntryIsDiscardedAndTheBuildBootsCold(t *testing.T) {
	step, state, _, _ := restoreFixture(t)
	entry := savedEntryFor(t, step, state)
	os.WriteFile(filepath.Join(entry, warmstart.DiskFile), []byte("truncated"), 0o600)
	if step.Run(context.Background(), state) != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if warmOf(state).Entry != nil {
		t.Fatal("resumed from a damaged entry")
	}
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Fatal("the damaged entry is still there")
	}
	if out := uiOutput(state); !strings.Contains(out, "discarding the damaged entry") || !strings.Contains(out, "booting cold") {
		t.Fatal(out)
	}
	if string(step.Comm.SSHPrivateKey) != "NEW KEY" {
		t.Fatal("the build's own key was replaced")
	}
}

func TestStepWarmRestore_aFailedResumeDiscardsTheEntry(t *testing.T) {
	step, state, _, _ := restoreFixture(t)
	entry := savedEntryFor(t, step, state)
	step.Run(context.Background(), state)
	vm := qemumock.NewVMMock()
	watch := vmwatch.Start(vm, vmwatch.Options{Interval: 10e6})
	keyVMWatch.Put(state, watch)
	vm.Exit(errors.New("load of migration failed"))
	<-watch.Failed()
	watch.Stop()
	step.Cleanup(state)
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Fatal("the entry QEMU could not resume from is still there")
	}
}

func TestStepWarmRestore_offDoesNothing(t *testing.T) {
	step, state, _, _ := restoreFixture(t)
	step.Enabled = false
	step.Run(context.Background(), state)
	if warmQemuArgs(state) != nil || warmOf(state).Key != "" {
		t.Fatal("warm start acted while off")
	}
}

package kvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/hostileimage"
)

// Issue 20 item 2: a source image that names a host file is refused
// before any overlay (or QEMU) opens it.
func TestStepCreateOverlay_refusesASourceThatNamesOtherFiles(t *testing.T) {
	driver := realDriver(t)
	for _, hostile := range hostileimage.All(t, hostileimage.Secret(t)) {
		want, image := hostile.Want, hostile.Path
		t.Run(hostile.Name, func(t *testing.T) {
			state, _ := testState(t)
			work := t.TempDir()
			keyDriver.Put(state, driver)
			keySourceImagePath.Put(state, image)
			keyWorkDir.Put(state, work)
			if action := (&stepCreateOverlay{}).Run(context.Background(), state); action != multistep.ActionHalt {
				t.Fatal("a source naming a host file was accepted")
			}
			err := stateErr(state)
			for _, part := range []string{"source images must be self-contained", want} {
				if err == nil || !strings.Contains(err.Error(), part) {
					t.Errorf("error %v lacks %q", err, part)
				}
			}
			if entries, _ := os.ReadDir(work); len(entries) > 0 {
				t.Errorf("an overlay was made on the hostile source: %v", entries)
			}
		})
	}
}

// A self-contained source is probed once and named by its format after.
func TestStepCreateOverlay_acceptsASelfContainedSourceAndNamesItsFormat(t *testing.T) {
	driver := realDriver(t)
	dir := t.TempDir()
	source := filepath.Join(dir, "source.qcow2")
	hostileimage.QemuImg(t, "create", "-q", "-f", "qcow2", source, "64M")
	state, _ := testState(t)
	keyDriver.Put(state, driver)
	keySourceImagePath.Put(state, source)
	keyWorkDir.Put(state, dir)
	if action := (&stepCreateOverlay{}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	info, err := driver.ImageInfo(context.Background(), keyOverlayPath.Get(state), "qcow2")
	if err != nil || info.FullBackingFile != source || info.BackingFormat != "qcow2" {
		t.Fatalf("overlay %+v %v, want it on the source with the format named", info, err)
	}
}

// An iso_url that is a disk image naming a host file is refused; QEMU is
// given every medium as raw data, never probed.
func TestStepCheckInstallerMedia_refusesAnISOThatNamesOtherFiles(t *testing.T) {
	driver := realDriver(t)
	for _, hostile := range hostileimage.All(t, hostileimage.Secret(t)) {
		want, image := hostile.Want, hostile.Path
		state, _ := testState(t)
		keyDriver.Put(state, driver)
		keySourceImagePath.Put(state, image)
		if action := (&stepCheckInstallerMedia{}).Run(context.Background(), state); action != multistep.ActionHalt {
			t.Errorf("%s: a hostile ISO was accepted", want)
			continue
		}
		if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "installer media must be self-contained") || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want the ISO refused for its %s", err, want)
		}
	}
	iso := filepath.Join(t.TempDir(), "mini.iso")
	if err := os.WriteFile(iso, make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	state, _ := testState(t)
	keyDriver.Put(state, driver)
	keySourceImagePath.Put(state, iso)
	if action := (&stepCheckInstallerMedia{}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("a plain ISO was refused: %v", stateErr(state))
	}
}

func TestInstallerSteps_checkTheISOBeforeTheDisk(t *testing.T) {
	steps := builderSteps(t, isoConfig(t))
	check, disk := indexOf(steps, "*kvm.stepCheckInstallerMedia"), indexOf(steps, "*kvm.stepCreateBlankDisk")
	if check < 0 || check > disk || check < indexOf(steps, "*kvm.stepDownloadSource") {
		t.Fatalf("the ISO is not checked between its download and the disk: %v", stepTypes(steps))
	}
}

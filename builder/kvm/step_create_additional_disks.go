package kvm

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// stepCreateAdditionalDisks creates the build's extra data disks, empty
// qcow2 images in the work directory (removed with it), in the order the
// template lists them.
//
// It reads driver, ui and work_dir, and writes additional_disk_paths
// ([]string, empty when there are none).
type stepCreateAdditionalDisks struct {
	Disks []AdditionalDisk
}

func (s *stepCreateAdditionalDisks) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	driver := state.Get("driver").(qemu.Driver)
	ui := state.Get("ui").(packersdk.Ui)
	workDir := state.Get("work_dir").(string)
	paths := []string{}
	for i, d := range s.Disks {
		path := filepath.Join(workDir, fmt.Sprintf("disk%d.qcow2", i+1))
		if err := driver.CreateDisk(ctx, path, d.sizeBytes); err != nil {
			return halt(state, fmt.Errorf("creating additional disk %q: %w", d.Label, err))
		}
		ui.Say(fmt.Sprintf("Created additional disk %q (%s)", d.Label, fileutil.HumanBytes(d.sizeBytes)))
		paths = append(paths, path)
	}
	state.Put("additional_disk_paths", paths)
	return multistep.ActionContinue
}

func (s *stepCreateAdditionalDisks) Cleanup(multistep.StateBag) {}

// stateStrings reads a list from the state bag; nil when it is absent.
func stateStrings(state multistep.StateBag, key string) []string {
	v, _ := state.GetOk(key)
	s, _ := v.([]string)
	return s
}

package kvm

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
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
	driver := keyDriver.Get(state)
	ui := keyUI.Get(state)
	workDir := keyWorkDir.Get(state)
	paths := []string{}
	for i, d := range s.Disks {
		path := filepath.Join(workDir, fmt.Sprintf("disk%d.qcow2", i+1))
		if err := driver.CreateDisk(ctx, path, d.sizeBytes); err != nil {
			return halt(state, fmt.Errorf("creating additional disk %q: %w", d.Label, err))
		}
		ui.Say(fmt.Sprintf("Created additional disk %q (%s)", d.Label, fileutil.HumanBytes(d.sizeBytes)))
		paths = append(paths, path)
	}
	keyAdditionalDiskPaths.Put(state, paths)
	return multistep.ActionContinue
}

func (s *stepCreateAdditionalDisks) Cleanup(multistep.StateBag) {}

package kvm

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// stepCreateBlankDisk creates the empty qcow2 disk an installer build
// installs to, in place of the cloud image's overlay: the steps after it
// (the VM, the snapshot) use it the same way.
//
// It reads driver, ui and work_dir, and writes overlay_path and
// disk_virtual_size.
type stepCreateBlankDisk struct {
	Size int64
}

func (s *stepCreateBlankDisk) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	driver := keyDriver.Get(state)
	ui := keyUI.Get(state)
	if s.Size <= 0 {
		return halt(state, fmt.Errorf("disk_size is required for an installer build: the size of the blank disk"))
	}
	path := filepath.Join(keyWorkDir.Get(state), "disk.qcow2")
	if err := driver.CreateDisk(ctx, path, s.Size); err != nil {
		return halt(state, fmt.Errorf("creating the blank disk: %w", err))
	}
	ui.Say(fmt.Sprintf("Created a blank %s disk for the installer", fileutil.HumanBytes(s.Size)))
	keyOverlayPath.Put(state, path)
	keyDiskVirtualSize.Put(state, s.Size)
	return multistep.ActionContinue
}

func (s *stepCreateBlankDisk) Cleanup(multistep.StateBag) {}

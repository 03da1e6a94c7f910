package kvm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// stepCheckInstallerMedia refuses an iso_url that is not self-contained:
// a file qemu-img reads as a disk image naming another file (a qcow2 with
// a backing file, a VMDK descriptor, ...). QEMU is given the ISO as raw
// data (qemu.InstallerMedia), so it would never open that file; the check
// says so before the build instead of booting an installer that is no
// ISO.
//
// It reads driver and source_image_path.
type stepCheckInstallerMedia struct{}

func (s *stepCheckInstallerMedia) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	driver := keyDriver.Get(state)
	iso, err := filepath.Abs(keySourceImagePath.Get(state))
	if err != nil {
		return halt(state, err)
	}
	_, err = qemuimg.SelfContained(ctx, qemu.Inspector{Driver: driver}, iso, "")
	var notSelfContained *qemuimg.NotSelfContainedError
	if errors.As(err, &notSelfContained) {
		return halt(state, fmt.Errorf("the ISO (iso_url) is refused: installer media must be self-contained: %w", err))
	}
	if err != nil {
		return halt(state, fmt.Errorf("the ISO (iso_url) cannot be read: %w", err))
	}
	return multistep.ActionContinue
}

func (s *stepCheckInstallerMedia) Cleanup(multistep.StateBag) {}

package kvm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskcheck"
	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// stepCreateOverlay puts a qcow2 overlay on top of the source image, so the
// build writes only to the overlay and the cached source is never modified.
// It first refuses a source that is not self-contained: one that names
// another file (a backing file, a qcow2 external data file, VMDK extents, a
// json: name), which QEMU would open as part of the guest's disk, so a
// source could hand the guest any file the build can read. Then a source
// that cannot boot: data that is not a disk image, a qcow2 (or other format with metadata) that `qemu-img check`
// finds damaged, such as a truncated download, and a raw disk shorter than
// its own partition table says.
//
// It reads driver, ui, source_image_path and work_dir, and writes
// source_image_format, disk_virtual_size and overlay_path.
type stepCreateOverlay struct {
	DiskSize int64
}

func (s *stepCreateOverlay) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	driver := keyDriver.Get(state)
	ui := keyUI.Get(state)
	source, err := filepath.Abs(keySourceImagePath.Get(state))
	if err != nil {
		return halt(state, err)
	}

	// The format is probed once, here; every later use names it
	// (check -f, the overlay's -F), so the source is never read as another.
	info, err := qemuimg.SelfContained(ctx, qemu.Inspector{Driver: driver}, source, "")
	var notSelfContained *qemuimg.NotSelfContainedError
	if errors.As(err, &notSelfContained) {
		return halt(state, fmt.Errorf("the source image is refused: source images must be self-contained: %w", err))
	}
	if err != nil {
		return halt(state, fmt.Errorf("the source image is not a readable disk image: %w", err))
	}
	if info.Format == "raw" && !diskcheck.HasPartitionTable(source) {
		return halt(state, fmt.Errorf("the source image %s is not a disk image: qemu-img sees raw data with no partition table (a download error page or a compressed file?)", source))
	}
	if info.Format == "raw" {
		if err := diskcheck.PartitionsFit(source); err != nil {
			return halt(state, fmt.Errorf("the source image %s is damaged: %w (a truncated download? check source_image_checksum)", source, err))
		}
	} else if err := driver.CheckImage(ctx, source, info.Format); err != nil {
		return halt(state, fmt.Errorf("the source image %s is damaged, so it would not boot: %w (a truncated download? check source_image_checksum)", source, err))
	}
	if s.DiskSize > 0 && s.DiskSize < info.VirtualSize {
		return halt(state, fmt.Errorf("disk_size (%d bytes) is smaller than the source image (%d bytes): disks can only grow; remove disk_size or raise it", s.DiskSize, info.VirtualSize))
	}

	overlay := filepath.Join(keyWorkDir.Get(state), "disk.qcow2")
	if err := driver.CreateOverlay(ctx, source, info.Format, overlay, s.DiskSize); err != nil {
		return halt(state, fmt.Errorf("creating the overlay disk: %w", err))
	}
	size := info.VirtualSize
	if s.DiskSize > 0 {
		size = s.DiskSize
	}
	ui.Say(fmt.Sprintf("Created a %s overlay on the %s source image", fileutil.HumanBytes(size), info.Format))
	keySourceImageFormat.Put(state, info.Format)
	keyDiskVirtualSize.Put(state, size)
	keyOverlayPath.Put(state, overlay)
	return multistep.ActionContinue
}

func (s *stepCreateOverlay) Cleanup(multistep.StateBag) {}

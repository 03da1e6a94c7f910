package kvm

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// stepCreateOverlay puts a qcow2 overlay on top of the source image, so the
// build writes only to the overlay and the cached source is never modified.
// It first refuses a source that cannot boot: data that is not a disk
// image, a qcow2 (or other format with metadata) that `qemu-img check`
// finds damaged, such as a truncated download, and a raw disk shorter than
// its own partition table says.
//
// It reads driver, ui, source_image_path and work_dir, and writes
// source_image_format, disk_virtual_size and overlay_path.
type stepCreateOverlay struct {
	DiskSize int64
}

func (s *stepCreateOverlay) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	driver := state.Get("driver").(Driver)
	ui := state.Get("ui").(packersdk.Ui)
	source, err := filepath.Abs(state.Get("source_image_path").(string))
	if err != nil {
		return halt(state, err)
	}

	info, err := driver.ImageInfo(ctx, source)
	if err != nil {
		return halt(state, fmt.Errorf("the source image is not a readable disk image: %w", err))
	}
	if info.Format == "raw" && !hasPartitionTable(source) {
		return halt(state, fmt.Errorf("the source image %s is not a disk image: qemu-img sees raw data with no partition table (a download error page or a compressed file?)", source))
	}
	if info.Format == "raw" {
		if err := partitionsFit(source); err != nil {
			return halt(state, fmt.Errorf("the source image %s is damaged: %w (a truncated download? check source_image_checksum)", source, err))
		}
	} else if err := driver.CheckImage(ctx, source, info.Format); err != nil {
		return halt(state, fmt.Errorf("the source image %s is damaged, so it would not boot: %w (a truncated download? check source_image_checksum)", source, err))
	}
	if s.DiskSize > 0 && s.DiskSize < info.VirtualSize {
		return halt(state, fmt.Errorf("disk_size (%d bytes) is smaller than the source image (%d bytes): disks can only grow; remove disk_size or raise it", s.DiskSize, info.VirtualSize))
	}

	overlay := filepath.Join(state.Get("work_dir").(string), "disk.qcow2")
	if err := driver.CreateOverlay(ctx, source, info.Format, overlay, s.DiskSize); err != nil {
		return halt(state, fmt.Errorf("creating the overlay disk: %w", err))
	}
	size := info.VirtualSize
	if s.DiskSize > 0 {
		size = s.DiskSize
	}
	ui.Say(fmt.Sprintf("Created a %s overlay on the %s source image", fileutil.HumanBytes(size), info.Format))
	state.Put("source_image_format", info.Format)
	state.Put("disk_virtual_size", size)
	state.Put("overlay_path", overlay)
	return multistep.ActionContinue
}

func (s *stepCreateOverlay) Cleanup(multistep.StateBag) {}

// hasPartitionTable tells a raw disk (MBR or protective-MBR boot signature)
// from other data qemu-img would also call "raw".
func hasPartitionTable(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sector := make([]byte, 512)
	if _, err := io.ReadFull(f, sector); err != nil {
		return false
	}
	return sector[510] == 0x55 && sector[511] == 0xAA
}

// partitionsFit checks that a raw disk holds every partition its MBR lists
// and, behind a protective MBR, the whole GPT disk up to the backup header
// (UEFI spec, "GUID Partition Table Disk Layout"). A truncated raw image
// fails this before it is booted. Sectors are 512 bytes, as in every cloud
// image.
func partitionsFit(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	head := make([]byte, 1024)
	if _, err := io.ReadFull(f, head); err != nil {
		return fmt.Errorf("reading its partition table: %w", err)
	}
	need := uint64(0)
	for i := 0; i < 4; i++ {
		entry := head[446+16*i : 446+16*(i+1)]
		if entry[4] == 0 {
			continue
		}
		start, count := binary.LittleEndian.Uint32(entry[8:]), binary.LittleEndian.Uint32(entry[12:])
		if entry[4] == 0xEE && string(head[512:520]) == "EFI PART" {
			// The backup GPT header sits in the disk's last sector.
			need = max(need, (binary.LittleEndian.Uint64(head[512+32:])+1)*512)
			continue
		}
		need = max(need, (uint64(start)+uint64(count))*512)
	}
	if size := uint64(fi.Size()); need > size {
		return fmt.Errorf("its partition table describes a %d-byte disk but the file holds only %d bytes", need, size)
	}
	return nil
}

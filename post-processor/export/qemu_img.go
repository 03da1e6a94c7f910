package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskcheck"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// imageTool is what the export asks of qemu-img: the shared
// qemuimg.Runner in a build, a fake in the unit tests.
type imageTool interface {
	Info(ctx context.Context, path string) (*qemuimg.Info, error)
	CreateOverlay(ctx context.Context, backing, backingFormat, path string, size int64) error
	Convert(ctx context.Context, src, dst string, options []string, progress func(int)) error
	DataBytes(ctx context.Context, path string) (int64, error)
}

var _ imageTool = (*qemuimg.Runner)(nil)

// diskExtensions are file endings that name a disk image even when
// qemu-img can only call the content "raw".
var diskExtensions = []string{".qcow2", ".raw", ".img", ".vmdk", ".vhdx", ".vhd", ".vdi"}

// findDiskImage picks the artifact's disk image: the first file qemu-img
// recognizes as an image format, else the first raw file with a disk
// image's extension and a partition table (the builder's check: raw data
// without one is an error page, a compressed file or a text file).
func findDiskImage(ctx context.Context, q imageTool, files []string) (string, *qemuimg.Info, error) {
	var rawCandidate, notADisk string
	var rawInfo *qemuimg.Info
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		info, err := q.Info(ctx, f)
		if err != nil {
			continue
		}
		if info.Format != "raw" {
			return f, info, nil
		}
		if !slices.Contains(diskExtensions, strings.ToLower(filepath.Ext(f))) || rawCandidate != "" {
			continue
		}
		if diskcheck.HasPartitionTable(f) {
			rawCandidate, rawInfo = f, info
		} else if notADisk == "" {
			notADisk = f
		}
	}
	switch {
	case rawCandidate != "":
		return rawCandidate, rawInfo, nil
	case notADisk != "":
		return "", nil, fmt.Errorf("%s is not a disk image: qemu-img sees raw data with no partition table (a download error page, a compressed file?)", notADisk)
	}
	return "", nil, fmt.Errorf("the input artifact has no disk image that qemu-img can read (files: %s)", strings.Join(files, ", "))
}

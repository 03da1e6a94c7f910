package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskcheck"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// imageTool is what the export asks of qemu-img: the shared
// qemuimg.Runner in a build, a fake in the unit tests.
type imageTool interface {
	Info(ctx context.Context, path string) (*qemuimg.Info, error)
	qemuimg.Inspector
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

// kvmBuilderID is the ID of the kvm builder's artifacts (kvm.BuilderID).
const kvmBuilderID = "kvmforge.kvm"

// inputImage picks the artifact's disk image and reads it safely: an
// image may not name any other file (a backing file, a qcow2 external data
// file, VMDK extents, a json: name), which qemu-img would read into the
// export. The one exception is the kvm builder's output_mode = "overlay",
// whose backing file is the build's source image (kvm_backing_file), which
// must be self-contained itself. A kvm artifact's image is read in the
// format the build wrote (a raw disk can hold whatever header its guest
// wrote); others are probed. It returns the image, its info and the format
// the artifact's other disks are read as ("" to probe).
func inputImage(ctx context.Context, q imageTool, artifact packersdk.Artifact) (string, *qemuimg.Info, string, error) {
	files := artifact.Files()
	format, _ := artifact.State("diskType").(string)
	if artifact.BuilderId() == kvmBuilderID && format != "" && len(files) > 0 {
		input := files[0]
		var info *qemuimg.Info
		var err error
		if backing, _ := artifact.State("kvm_backing_file").(string); backing != "" && format == "qcow2" {
			info, err = qemuimg.OverlayOf(ctx, q, input, backing)
		} else {
			info, err = qemuimg.SelfContained(ctx, q, input, format)
		}
		if err != nil {
			return "", nil, "", err
		}
		return input, info, format, nil
	}
	input, info, err := findDiskImage(ctx, q, files)
	if err != nil {
		return "", nil, "", err
	}
	if info, err = qemuimg.SelfContained(ctx, q, input, info.Format); err != nil {
		return "", nil, "", err
	}
	return input, info, "", nil
}

// outputPerm is the mode of an export's outputs: 0644 at most, and no more
// than every file they are made of allows, so an export of a private image
// stays private.
func outputPerm(inputs ...string) (os.FileMode, error) {
	perm := os.FileMode(0o644)
	for _, f := range inputs {
		st, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		perm &= st.Mode().Perm()
	}
	return perm, nil
}

package export

import (
	"bufio"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskid"
	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmdk"
)

// identity makes the outputs reproducible: the identifiers formats draw
// at random are derived from the input image's SHA-256 and the output's
// file name (diskid.Derive), and the times they record are Time.
type identity struct {
	Time time.Time
	sum  string
	err  error
	wait chan struct{}
}

// newIdentity starts hashing input at once, beside the conversions; the
// ids are needed only once a target's file is written. Cancelling ctx
// stops the hashing.
func newIdentity(ctx context.Context, input string, t time.Time) *identity {
	id := &identity{Time: t, wait: make(chan struct{})}
	go func() {
		defer close(id.wait)
		id.sum, id.err = hashFile(ctx, input)
	}()
	return id
}

func hashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fileutil.ContextReader{Ctx: ctx, R: f}); err != nil {
		return "", err
	}
	return hexSum(h), nil
}

// seed is the input's SHA-256, once hashed.
func (id *identity) seed(ctx context.Context) (string, error) {
	select {
	case <-id.wait:
		return id.sum, id.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stamp gives a file qemu-img wrote for target t, under the output name
// name, its derived identifiers. Formats without random identifiers
// (qcow2, raw) are left as they are.
func (e *exporter) stamp(ctx context.Context, t Target, path, name string) error {
	if e.Identity == nil {
		return nil
	}
	seed, err := e.Identity.seed(ctx)
	if err != nil {
		return err
	}
	derive := func(purpose string) diskid.UUID { return diskid.Derive(seed, name, purpose) }
	switch t.Format {
	case "vhdx":
		return diskid.PatchVHDX(path, derive("vhdx/file-write"), derive("vhdx/data-write"), derive("vhdx/page83"))
	case "vdi":
		return diskid.PatchVDI(path, derive("vdi/create"), derive("vdi/modify"))
	case "vhd":
		return diskid.PatchVHD(path, derive("vhd/unique-id"), e.Identity.Time)
	case "vmdk":
		return diskid.PatchVMDKCID(path, diskid.Derive32(seed, name, "vmdk/cid"))
	}
	return nil
}

// isStreamVMDK tells whether the plugin writes the target's VMDK itself.
func isStreamVMDK(t Target) bool {
	return t.Format == "vmdk" && t.Subformat == "streamOptimized"
}

// convert writes source as target t's disk format to dst, whose published
// name is name: a streamOptimized VMDK with the plugin's parallel writer,
// else with qemu-img, then stamped.
func (e *exporter) convert(ctx context.Context, t Target, source, sourceFormat, dst, name string, capacity int64, progress func(int)) error {
	if isStreamVMDK(t) {
		return e.writeStreamVMDK(ctx, source, sourceFormat, dst, name, capacity, progress)
	}
	if err := e.QemuImg.Convert(ctx, source, dst, append([]string{"-f", sourceFormat}, qemuFormatArgs(t)...), progress); err != nil {
		return err
	}
	return e.stamp(ctx, t, dst, name)
}

// writeStreamVMDK reads the source as raw data (itself when it is raw,
// else a sparse raw copy qemu-img writes beside dst) and writes it with
// internal/vmdk, whose grains compress on every core. capacity may exceed
// the source's size: the rest reads as zeros.
func (e *exporter) writeStreamVMDK(ctx context.Context, source, sourceFormat, dst, name string, capacity int64, progress func(int)) error {
	raw := source
	if sourceFormat != "raw" {
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".raw-*.raw")
		if err != nil {
			return err
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		if err := e.QemuImg.Convert(ctx, source, tmp.Name(), []string{"-f", sourceFormat, "-O", "raw"}, progress); err != nil {
			return err
		}
		raw = tmp.Name()
	}
	in, err := os.Open(raw)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	extents, err := fileutil.DataExtents(in, st.Size())
	if err != nil {
		return err
	}
	var cid uint32
	if e.Identity != nil {
		seed, err := e.Identity.seed(ctx)
		if err != nil {
			return err
		}
		cid = diskid.Derive32(seed, name, "vmdk/cid")
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	opts := vmdk.Options{Capacity: max(capacity, st.Size()), FileName: name, AdapterType: "lsilogic", CID: cid}
	if err := vmdk.Write(ctx, w, in, extents, opts); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return out.Close()
}

// outputTime is the modification time archives record.
func (e *exporter) outputTime() time.Time {
	if e.Identity == nil {
		return diskid.FixedTime
	}
	return e.Identity.Time
}

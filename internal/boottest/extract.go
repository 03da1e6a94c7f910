package boottest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// decompressor opens the whole-file compression of an output.
func decompressor(r io.Reader, compression string) (io.Reader, func(), error) {
	switch compression {
	case "", "none":
		return r, func() {}, nil
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case "zstd":
		zr, err := zstd.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case "xz":
		zr, err := xz.NewReader(r)
		return zr, func() {}, err
	}
	return nil, nil, fmt.Errorf("unknown compression %q", compression)
}

// diskImage is the file QEMU boots for an output: the output itself, or,
// for a compressed file, an OVA or a GCE tarball, the disk taken out of it
// into dir (sparse, so a mostly empty disk costs little).
func diskImage(ctx context.Context, output, format, compression, dir string) (string, error) {
	if format != "ova" && format != "gce" && (compression == "" || compression == "none") {
		return output, nil
	}
	f, err := os.Open(output)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r, closeR, err := decompressor(fileutil.ContextReader{Ctx: ctx, R: f}, compression)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", output, err)
	}
	defer closeR()
	dest := dirJoin(dir, "disk."+DiskFormat(format))
	switch format {
	case "ova":
		// The OVF package's VMDK: its only member named *.vmdk.
		return dest, extractMember(r, func(name string) bool { return strings.HasSuffix(name, ".vmdk") }, dest, output)
	case "gce":
		if compression == "" || compression == "none" {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return "", fmt.Errorf("reading %s: %w", output, err)
			}
			defer zr.Close()
			r = zr
		}
		return dest, extractMember(r, func(name string) bool { return name == "disk.raw" }, dest, output)
	}
	return dest, writeSparse(r, dest)
}

// extractMember writes the tar member that want accepts to dest.
func extractMember(r io.Reader, want func(string) bool, dest, archive string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s holds no disk to boot", archive)
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", archive, err)
		}
		// GCE's tarball holds disk.raw as an old GNU sparse member, which
		// the reader expands, holes as zeros.
		regular := hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeGNUSparse
		if regular && want(path.Clean(hdr.Name)) {
			return writeSparse(tr, dest)
		}
	}
}

// writeSparse copies r to a new file at dest, leaving holes where r holds
// zeros.
func writeSparse(r io.Reader, dest string) error {
	out, err := os.OpenFile(dest, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	buf := make([]byte, 1<<20)
	zero := make([]byte, len(buf))
	var size int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if bytes.Equal(buf[:n], zero[:n]) {
				_, werr := out.Seek(int64(n), io.SeekCurrent)
				if werr != nil {
					return werr
				}
			} else if _, werr := out.Write(buf[:n]); werr != nil {
				return werr
			}
			size += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := out.Truncate(size); err != nil {
		return err
	}
	return out.Close()
}

func dirJoin(dir, name string) string { return dir + string(os.PathSeparator) + name }

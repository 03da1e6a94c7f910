package export

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// ovaMember is one file of the package, from memory or from a file.
type ovaMember struct {
	Name string
	Data []byte
	Path string
	Size int64
}

// writeOVATar writes the members in order into dst and returns the
// archive's digests.
func writeOVATar(ctx context.Context, dst string, members []ovaMember, mtime time.Time, withSHA512 bool) (map[string]string, error) {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	hashed, sums := hashingWriter(out, withSHA512)
	tw := tar.NewWriter(hashed)
	for _, m := range members {
		size := m.Size
		if m.Path == "" {
			size = int64(len(m.Data))
		}
		if err := tw.WriteHeader(ovaHeader(m.Name, size, mtime)); err != nil {
			return nil, err
		}
		if err := copyMember(ctx, tw, m); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return sums(), out.Close()
}

// ovaHeader is a ustar header, as DSP0243 asks, unless the member is too
// large for ustar's size field: then GNU's base-256 size keeps it one
// header (PAX would add a pseudo-file before it).
func ovaHeader(name string, size int64, mtime time.Time) *tar.Header {
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
	if size > ustarMaxSize {
		hdr.Format = tar.FormatGNU
	}
	return hdr
}

func copyMember(ctx context.Context, w io.Writer, m ovaMember) error {
	if m.Path == "" {
		_, err := w.Write(m.Data)
		return err
	}
	f, err := os.Open(m.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, fileutil.ContextReader{Ctx: ctx, R: f})
	return err
}

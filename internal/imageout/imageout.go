// Package imageout writes a build's output images into place: each image
// is written under a temporary name, synced and renamed into place, so a
// final path never holds a partial image, and its SHA-256 is written
// beside it in `sha256sum -c` format.
package imageout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// ConvertFunc flattens src into a standalone image of format at dst.
type ConvertFunc func(ctx context.Context, src, dst, format, compression string) error

// Image is one image to write: Source becomes <Dir>/<Name>.<Format>.
type Image struct {
	Source string
	Name   string // the file name without the format's extension
	Label  string // what error messages call the image
	// Move renames Source into place instead of converting it (a thin
	// overlay kept as is, or a disk that is standalone already).
	Move bool
}

// Written is an image written into place.
type Written struct {
	Path         string
	Checksum     string // SHA-256, hex
	ChecksumPath string
	Size         int64
}

// Set is a main image and the additional disks written beside it. The
// additional disks are renamed into place only once the main image is
// written too, so a failure leaves no image set with a disk missing.
type Set struct {
	Dir         string
	Format      string
	Compression string
	Convert     ConvertFunc
	Main        Image
	Additional  []Image
	// BeforeMain, if set, runs once the additional disks are written and
	// before the main image is.
	BeforeMain func()
}

// pending is an image written under a temporary name, waiting to be
// renamed into place.
type pending struct {
	tmp, final, sum string
	size            int64
}

// Write writes the set. On failure it removes every temporary file it made
// and returns the first error.
func (s Set) Write(ctx context.Context) (Written, []Written, error) {
	main, err := s.reserve(s.Main)
	if err != nil {
		return Written{}, nil, err
	}
	all := []*pending{main}
	defer func() {
		for _, p := range all {
			if p.tmp != "" {
				os.Remove(p.tmp)
			}
		}
	}()
	for _, img := range s.Additional {
		p, err := s.reserve(img)
		if err != nil {
			return Written{}, nil, err
		}
		all = append(all, p)
		if err := s.fill(ctx, p, img); err != nil {
			return Written{}, nil, err
		}
	}
	if s.BeforeMain != nil {
		s.BeforeMain()
	}
	if err := s.fill(ctx, main, s.Main); err != nil {
		return Written{}, nil, err
	}
	written := make([]Written, 0, len(all))
	for _, p := range all {
		w, err := p.commit()
		if err != nil {
			return Written{}, nil, err
		}
		written = append(written, w)
	}
	syncDir(s.Dir)
	return written[0], written[1:], nil
}

// reserve creates the image's temporary file in the output directory.
func (s Set) reserve(img Image) (*pending, error) {
	tmp, err := os.CreateTemp(s.Dir, "."+img.Name+".*.tmp")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	return &pending{tmp: tmp.Name(), final: filepath.Join(s.Dir, img.Name+"."+s.Format)}, nil
}

// fill writes the image to its temporary file, syncs and hashes it.
func (s Set) fill(ctx context.Context, p *pending, img Image) error {
	var err error
	if img.Move {
		err = os.Rename(img.Source, p.tmp)
	} else {
		err = s.Convert(ctx, img.Source, p.tmp, s.Format, s.Compression)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", img.Label, err)
	}
	p.sum, p.size, err = syncAndHash(p.tmp)
	if err != nil {
		return fmt.Errorf("checksumming %s: %w", img.Label, err)
	}
	return os.Chmod(p.tmp, 0o644)
}

// commit writes the image's checksum file and renames it into place.
func (p *pending) commit() (Written, error) {
	checksumFile := p.final + ".sha256"
	if err := fileutil.WriteAtomic(checksumFile, []byte(fmt.Sprintf("%s  %s\n", p.sum, filepath.Base(p.final)))); err != nil {
		return Written{}, err
	}
	if err := os.Rename(p.tmp, p.final); err != nil {
		return Written{}, err
	}
	p.tmp = ""
	return Written{Path: p.final, Checksum: p.sum, ChecksumPath: checksumFile, Size: p.size}, nil
}

// syncAndHash flushes the file to disk and returns its SHA-256 and size.
// The flush and the hash (a read from the page cache) run side by side.
func syncAndHash(path string) (string, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	synced := make(chan error, 1)
	go func() { synced <- f.Sync() }()
	sum, n, hashErr := fileutil.SHA256(path)
	if err := <-synced; err != nil {
		return "", 0, err
	}
	if hashErr != nil {
		return "", 0, hashErr
	}
	return sum, n, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

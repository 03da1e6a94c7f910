package kvm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// stepSnapshot turns the build's overlay into the output image: flattened
// into a standalone image (default) or kept as a thin overlay. The image is
// written under a temporary name, synced and renamed into place, so the
// final path never holds a partial image; its SHA-256 is written beside it
// in `sha256sum -c` format. The additional disks (additional_disk_paths)
// are written the same way beside it (snapshot_additional_disks.go).
//
// It reads driver, ui, overlay_path, additional_disk_paths and, for an
// overlay, source_image_path, and writes
// image_path, image_checksum, checksum_path, additional_disk_images,
// additional_disk_checksums and, for an overlay, image_backing_file (the
// source image it stands on, which kvm-export accepts as its one backing
// file).
type stepSnapshot struct {
	OutputDir   string
	ImageName   string
	Format      string
	Compression string
	Mode        string // standalone | overlay
	// AdditionalDiskLabels name the additional disks' images, in order.
	AdditionalDiskLabels []string

	tmpPath   string
	extraTmps []string
}

func (s *stepSnapshot) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	driver := keyDriver.Get(state)
	overlay := keyOverlayPath.Get(state)
	final := filepath.Join(s.OutputDir, s.ImageName+"."+s.Format)

	tmp, err := os.CreateTemp(s.OutputDir, "."+s.ImageName+".*.tmp")
	if err != nil {
		return halt(state, err)
	}
	tmp.Close()
	s.tmpPath = tmp.Name()

	start := time.Now()
	extras, err := s.writeAdditionalDisks(ctx, state, driver)
	if err != nil {
		return halt(state, err)
	}
	if s.Mode == "overlay" {
		ui.Say("Keeping the disk as a thin overlay on the source image")
		if source, ok := keySourceImagePath.GetOk(state); ok {
			if backing, absErr := filepath.Abs(source); absErr == nil {
				keyImageBackingFile.Put(state, backing)
			}
		}
		err = os.Rename(overlay, s.tmpPath)
	} else {
		ui.Say(fmt.Sprintf("Writing a standalone %s image (compression: %s)...", s.Format, s.Compression))
		err = driver.Convert(ctx, overlay, s.tmpPath, s.Format, s.Compression)
	}
	if err != nil {
		return halt(state, fmt.Errorf("writing the image: %w", err))
	}
	sum, size, err := syncAndHash(s.tmpPath)
	if err != nil {
		return halt(state, fmt.Errorf("checksumming the image: %w", err))
	}
	if err := os.Chmod(s.tmpPath, 0o644); err != nil {
		return halt(state, err)
	}
	checksumFile := final + ".sha256"
	if err := fileutil.WriteAtomic(checksumFile, []byte(fmt.Sprintf("%s  %s\n", sum, filepath.Base(final)))); err != nil {
		return halt(state, err)
	}
	if err := os.Rename(s.tmpPath, final); err != nil {
		return halt(state, err)
	}
	s.tmpPath = ""
	if err := s.commitAdditionalDisks(state, extras); err != nil {
		return halt(state, err)
	}
	syncDir(s.OutputDir)
	ui.Say(fmt.Sprintf("Image %s (%s, sha256 %s) written in %s", final, fileutil.HumanBytes(size), sum[:12], time.Since(start).Round(100*time.Millisecond)))
	keyImagePath.Put(state, final)
	keyImageChecksum.Put(state, sum)
	keyChecksumPath.Put(state, checksumFile)
	return multistep.ActionContinue
}

// Cleanup removes a half-written image after a failure or a cancel.
func (s *stepSnapshot) Cleanup(multistep.StateBag) {
	if s.tmpPath != "" {
		os.Remove(s.tmpPath)
	}
	for _, tmp := range s.extraTmps {
		os.Remove(tmp)
	}
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

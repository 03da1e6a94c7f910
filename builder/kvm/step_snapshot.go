package kvm

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/imageout"
)

// stepSnapshot turns the build's overlay into the output image: flattened
// into a standalone image (default) or kept as a thin overlay. The image
// and the additional disks (additional_disk_paths) are written into place
// by internal/imageout, each with its SHA-256 beside it.
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
}

func (s *stepSnapshot) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	overlayMode := s.Mode == "overlay"
	set := imageout.Set{
		Dir: s.OutputDir, Format: s.Format, Compression: s.Compression, Convert: keyDriver.Get(state).Convert,
		Main:       imageout.Image{Source: keyOverlayPath.Get(state), Name: s.ImageName, Label: "the image", Move: overlayMode},
		Additional: s.additionalDisks(keyAdditionalDiskPaths.Get(state)),
		BeforeMain: func() {
			if !overlayMode {
				ui.Say(fmt.Sprintf("Writing a standalone %s image (compression: %s)...", s.Format, s.Compression))
				return
			}
			ui.Say("Keeping the disk as a thin overlay on the source image")
			if source, ok := keySourceImagePath.GetOk(state); ok {
				if backing, absErr := filepath.Abs(source); absErr == nil {
					keyImageBackingFile.Put(state, backing)
				}
			}
		},
	}
	start := time.Now()
	image, extras, err := set.Write(ctx)
	if err != nil {
		return halt(state, err)
	}
	ui.Say(fmt.Sprintf("Image %s (%s, sha256 %s) written in %s", image.Path, fileutil.HumanBytes(image.Size), image.Checksum[:12], time.Since(start).Round(100*time.Millisecond)))
	keyImagePath.Put(state, image.Path)
	keyImageChecksum.Put(state, image.Checksum)
	keyChecksumPath.Put(state, image.ChecksumPath)
	images, sums := []string{}, []string{}
	for _, extra := range extras {
		images, sums = append(images, extra.Path), append(sums, extra.Checksum)
	}
	keyAdditionalDiskImages.Put(state, images)
	keyAdditionalDiskChecksums.Put(state, sums)
	return multistep.ActionContinue
}

// additionalDisks names each additional disk's image
// <image_name>-<label>.<format>. In overlay mode a qcow2 disk is moved as
// is: an additional disk has no backing image, it is standalone already.
func (s *stepSnapshot) additionalDisks(paths []string) []imageout.Image {
	var images []imageout.Image
	for i, src := range paths {
		label := fmt.Sprintf("disk%d", i+1)
		if i < len(s.AdditionalDiskLabels) {
			label = s.AdditionalDiskLabels[i]
		}
		images = append(images, imageout.Image{Source: src, Name: s.ImageName + "-" + label,
			Label: fmt.Sprintf("additional disk %q", label), Move: s.Mode == "overlay" && s.Format == "qcow2"})
	}
	return images
}

// Cleanup has nothing to do: a failed or cancelled write removes its own
// temporary files.
func (s *stepSnapshot) Cleanup(multistep.StateBag) {}

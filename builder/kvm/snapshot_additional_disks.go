package kvm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// pendingImage is an additional disk's image written under a temporary
// name, waiting to be renamed into place with the main image.
type pendingImage struct {
	tmp, final, sum string
}

// writeAdditionalDisks writes every additional disk (state key
// additional_disk_paths) as <image_name>-<label>.<format> under a temporary
// name in the output directory. The step renames them into place, with
// their checksum files, only once the main image is written too, so a
// failure leaves no image set with a disk missing.
func (s *stepSnapshot) writeAdditionalDisks(ctx context.Context, state multistep.StateBag, driver qemu.Driver) ([]pendingImage, error) {
	paths := keyAdditionalDiskPaths.Get(state)
	var pending []pendingImage
	for i, src := range paths {
		label := fmt.Sprintf("disk%d", i+1)
		if i < len(s.AdditionalDiskLabels) {
			label = s.AdditionalDiskLabels[i]
		}
		final := filepath.Join(s.OutputDir, s.ImageName+"-"+label+"."+s.Format)
		tmp, err := os.CreateTemp(s.OutputDir, "."+s.ImageName+"-"+label+".*.tmp")
		if err != nil {
			return nil, err
		}
		tmp.Close()
		s.extraTmps = append(s.extraTmps, tmp.Name())
		if s.Mode == "overlay" && s.Format == "qcow2" {
			// An additional disk has no backing image: it is standalone already.
			err = os.Rename(src, tmp.Name())
		} else {
			err = driver.Convert(ctx, src, tmp.Name(), s.Format, s.Compression)
		}
		if err != nil {
			return nil, fmt.Errorf("writing additional disk %q: %w", label, err)
		}
		sum, _, err := syncAndHash(tmp.Name())
		if err != nil {
			return nil, fmt.Errorf("checksumming additional disk %q: %w", label, err)
		}
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			return nil, err
		}
		pending = append(pending, pendingImage{tmp: tmp.Name(), final: final, sum: sum})
	}
	return pending, nil
}

// commitAdditionalDisks writes the disks' checksum files (in `sha256sum -c`
// format), renames the disks into place and records
// them in additional_disk_images and additional_disk_checksums.
func (s *stepSnapshot) commitAdditionalDisks(state multistep.StateBag, pending []pendingImage) error {
	images, sums := []string{}, []string{}
	for _, p := range pending {
		if err := fileutil.WriteAtomic(p.final+".sha256", []byte(fmt.Sprintf("%s  %s\n", p.sum, filepath.Base(p.final)))); err != nil {
			return err
		}
		if err := os.Rename(p.tmp, p.final); err != nil {
			return err
		}
		images, sums = append(images, p.final), append(sums, p.sum)
	}
	s.extraTmps = nil
	keyAdditionalDiskImages.Put(state, images)
	keyAdditionalDiskChecksums.Put(state, sums)
	return nil
}

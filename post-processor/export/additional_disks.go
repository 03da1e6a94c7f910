package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// validateAdditionalDisks refuses include_additional_disks with targets
// that hold a single disk.
func (c *Config) validateAdditionalDisks() []error {
	if !c.IncludeAdditionalDisks {
		return nil
	}
	var errs []error
	for i, t := range c.Targets {
		if t.Format == "ova" || t.Format == "gce" {
			errs = append(errs, fmt.Errorf("include_additional_disks does not apply to target[%d] (format %q holds the boot disk alone): export the disks as vmdk or qcow2 in another target, or remove include_additional_disks", i, t.Format))
		}
	}
	return errs
}

// additionalDiskFiles are the input artifact's disk images other than the
// one exported as the boot disk: the kvm builder lists its additional disks
// after its image.
func additionalDiskFiles(ctx context.Context, q imageTool, files []string, input string) []string {
	var disks []string
	for _, f := range files {
		if f == input || !slices.Contains(diskExtensions, strings.ToLower(filepath.Ext(f))) {
			continue
		}
		if _, err := q.Info(ctx, f); err == nil {
			disks = append(disks, f)
		}
	}
	return disks
}

// diskSuffix tells a disk's outputs from the image's: what the disk's name
// adds to the image's (the kvm builder names disks <image>-<label>), or
// the disk's whole name.
func diskSuffix(input, disk string) string {
	image := strings.TrimSuffix(filepath.Base(input), filepath.Ext(input))
	name := strings.TrimSuffix(filepath.Base(disk), filepath.Ext(disk))
	if rest, ok := strings.CutPrefix(name, image+"-"); ok && rest != "" {
		return "-" + rest
	}
	return "-" + name
}

// additionalDiskPlans are the image's plans for one more disk.
func additionalDiskPlans(plans []plannedOutput, suffix string, force bool) ([]plannedOutput, error) {
	var out []plannedOutput
	for _, p := range plans {
		ext := extension(p.Target)
		path := strings.TrimSuffix(p.Path, ext) + suffix + ext
		if _, err := os.Stat(path); err == nil && !force {
			return nil, fmt.Errorf("output %s exists: remove it or run packer build -force", path)
		}
		out = append(out, plannedOutput{Target: p.Target, Path: path})
	}
	return out, nil
}

// exportWithAdditionalDisks exports the image and then each additional
// disk to every target, and writes one checksum file for all of them. A
// failure removes every output already written.
func (p *PostProcessor) exportWithAdditionalDisks(ctx context.Context, ex *exporter, plans []plannedOutput, files []string, outDir string) ([]Output, string, error) {
	disks := additionalDiskFiles(ctx, ex.QemuImg, files, ex.Source)
	if len(disks) == 0 {
		return nil, "", errors.New("include_additional_disks is set but the input artifact has no additional disk: give the kvm builder additional_disks, or remove include_additional_disks")
	}
	// Each run below writes the checksum file of its own outputs; the
	// last write lists them all.
	sumFile := ""
	if ex.Checksum != "none" {
		sumFile = filepath.Join(outDir, strings.ToUpper(ex.Checksum)+"SUMS")
	}
	removeAll := func(outputs []Output) {
		for _, o := range outputs {
			os.Remove(o.Path)
		}
		if sumFile != "" {
			os.Remove(sumFile)
		}
	}
	one := *ex
	outputs, _, err := one.run(ctx, plans, outDir)
	if err != nil {
		return nil, "", err
	}
	for _, disk := range disks {
		// Each disk is checked like the image (inputImage), and read in
		// the kvm build's format when it came from one.
		info, err := qemuimg.SelfContained(ctx, ex.QemuImg, disk, ex.DiskFormat)
		var perm os.FileMode
		if err == nil {
			perm, err = outputPerm(disk)
		}
		if err == nil {
			var diskPlans []plannedOutput
			diskPlans, err = additionalDiskPlans(plans, diskSuffix(ex.Source, disk), p.config.PackerForce)
			if err == nil {
				diskEx := one
				diskEx.Source, diskEx.SourceInfo, diskEx.Perm = disk, info, perm
				ex.UI.Say(fmt.Sprintf("Exporting additional disk %s", disk))
				var diskOutputs []Output
				diskOutputs, _, err = diskEx.run(ctx, diskPlans, outDir)
				outputs = append(outputs, diskOutputs...)
			}
		}
		if err != nil {
			removeAll(outputs)
			return nil, "", fmt.Errorf("additional disk %s: %w", disk, err)
		}
	}
	if sumFile == "" {
		return outputs, "", nil
	}
	if err := writeChecksums(sumFile, outputs); err != nil {
		removeAll(outputs)
		return nil, "", ex.explainNoSpace(err, outDir, sumFile)
	}
	return outputs, sumFile, nil
}

package kvm

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// BuilderID identifies this builder's artifacts to post-processors.
const BuilderID = "kvmforge.kvm"

// hcpRegion is the HCP Packer region of every image: the image is a file
// on the machine that built it, and a fixed name keeps HCP channel queries
// stable across CI runners whose host names change every run.
const hcpRegion = "local"

// Artifact is a disk image on the local filesystem with its checksum file.
//
// Files lists the disk image alone: post-processors take Files as the
// artifact's payload, and the vagrant post-processor's libvirt provider
// boxes every file whose name starts with diskName as a qcow2 disk, which
// would make the checksum file (`<image>.sha256`) a second, broken disk.
// The checksum file stays beside the image and goes with it on Destroy.
// The additional disks' images (additional_disks) follow the image in
// Files, each with its own checksum file beside it.
type Artifact struct {
	ImagePath     string
	ChecksumPath  string
	Checksum      string // sha256 hex of the image
	Format        string
	VirtualSize   int64
	Accelerator   string
	Arch          string // the guest architecture, as `uname -m` names it
	SourceURL     string
	SourceID      string // SHA-256 hex of the source image, the form ImageIDs take
	GeneratedData map[string]interface{}
	// AdditionalDisks are the additional disks' images, in template order.
	AdditionalDisks []string
	// BackingFile is an output_mode = "overlay" image's backing file, the
	// source image in Packer's cache ("" for a standalone image). kvm-export
	// reads it as State("kvm_backing_file"): the one file it lets an input
	// image name.
	BackingFile string
}

func (a *Artifact) BuilderId() string { return BuilderID }
func (a *Artifact) Id() string        { return a.Checksum }
func (a *Artifact) Files() []string   { return append([]string{a.ImagePath}, a.AdditionalDisks...) }

func (a *Artifact) String() string {
	return fmt.Sprintf("%s image %s (%s virtual, sha256 %s)", a.Format, a.ImagePath, fileutil.HumanBytes(a.VirtualSize), a.Checksum)
}

// State answers Packer core (generated data, HCP Packer metadata) and the
// keys the official qemu builder sets, so that the vagrant post-processor's
// libvirt provider can box our image.
func (a *Artifact) State(name string) interface{} {
	switch name {
	case "generated_data":
		return a.GeneratedData
	case registryimage.ArtifactStateURI:
		img, err := registryimage.FromArtifact(a,
			registryimage.WithProvider("kvm"),
			registryimage.WithRegion(hcpRegion),
			registryimage.WithSourceID(a.SourceID),
			registryimage.SetLabels(a.hcpLabels()))
		if err != nil {
			return nil
		}
		return img
	case "diskName":
		return filepath.Base(a.ImagePath)
	case "diskType":
		return a.Format
	case "diskSize":
		return fmt.Sprintf("%dM", (a.VirtualSize+(1<<20)-1)>>20)
	case "diskPaths":
		return []string{a.ImagePath}
	case "kvm_backing_file":
		return a.BackingFile
	case "domainType":
		// The vagrant post-processor's libvirt provider knows none, tcg,
		// hvf and kvm; a box built under WHPX runs elsewhere under TCG.
		if a.Accelerator == "whpx" {
			return "tcg"
		}
		return a.Accelerator
	}
	return nil
}

// hcpLabels are the image's HCP Packer labels. Packer core merges the labels
// of every image of a build into one set, so what describes this image
// alone is keyed by its ID, the artifact ID the registry lists (a file name
// would not do: kvm-export's qcow2 output often has the image's name), and
// only values every image of the build shares have plain keys.
func (a *Artifact) hcpLabels() map[string]interface{} {
	labels := map[string]interface{}{
		a.Checksum + ".format": a.Format,
		a.Checksum + ".file":   a.ImagePath,
		"virtual_size":         strconv.FormatInt(a.VirtualSize, 10),
		"accelerator":          a.Accelerator,
		"source_url":           a.SourceURL,
	}
	if len(a.AdditionalDisks) > 0 {
		labels[a.Checksum+".additional_disks"] = strings.Join(a.AdditionalDisks, ",")
	}
	if a.Arch != "" { // every build sets it; an empty label would only be noise
		labels["arch"] = a.Arch
	}
	return labels
}

// Destroy deletes the image and its checksum file.
func (a *Artifact) Destroy() error {
	files := []string{a.ImagePath, a.ChecksumPath}
	for _, disk := range a.AdditionalDisks {
		files = append(files, disk, disk+".sha256")
	}
	return fileutil.RemoveFiles(files)
}

package export

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
	"github.com/mitchellh/mapstructure"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// Artifact is the set of exported files and their checksum file.
type Artifact struct {
	Outputs      []Output
	ChecksumFile string
	Source       string
	SourceSHA256 string
	// SourceImageID is the SourceImageID the input artifact gave HCP
	// Packer (the cloud image a kvm build started from), if any; otherwise
	// the images name the input itself (SourceSHA256) as their source.
	SourceImageID string
	VirtualSize   int64
	GeneratedData map[string]interface{}
	// BootTests are the outputs' boot tests (boot_test), in target order.
	BootTests []BootTestResult
}

func (a *Artifact) BuilderId() string { return BuilderID }

func (a *Artifact) Files() []string {
	var files []string
	for _, o := range a.Outputs {
		files = append(files, o.Path)
	}
	if a.ChecksumFile != "" {
		files = append(files, a.ChecksumFile)
	}
	return files
}

// Id is the SHA-256 of the first output.
func (a *Artifact) Id() string {
	if len(a.Outputs) == 0 {
		return ""
	}
	return a.Outputs[0].SHA256
}

func (a *Artifact) String() string {
	var parts []string
	for _, o := range a.Outputs {
		parts = append(parts, fmt.Sprintf("%s (%s)", o.Path, o.Format))
	}
	return "exported " + strings.Join(parts, ", ")
}

// State carries the builder's generated data forward, answers HCP Packer
// with one image per output, and answers the keys the official qemu
// builder sets so that the vagrant post-processor's libvirt provider can
// box the qcow2 output.
func (a *Artifact) State(name string) interface{} {
	switch name {
	case "generated_data":
		return a.GeneratedData
	case registryimage.ArtifactStateURI:
		return a.hcpImages()
	case "boot_tests":
		return a.BootTests
	}
	if disk := a.vagrantDisk(); disk != nil {
		switch name {
		case "diskName":
			return filepath.Base(disk.Path)
		case "diskType":
			return disk.Format
		case "diskSize":
			return fmt.Sprintf("%dM", (a.VirtualSize+(1<<20)-1)>>20)
		case "diskPaths":
			return []string{disk.Path}
		case "domainType":
			// The build's accelerator, as the qemu builder gives it; kvm
			// (vagrant-libvirt's default driver) for an input without one.
			if accel, _ := a.GeneratedData["Accelerator"].(string); accel != "" {
				return accel
			}
			return "kvm"
		}
	}
	return nil
}

// hcpImages are the outputs as HCP Packer images. Packer core merges the
// labels of all the images of a build into one set, so each output's own
// labels are keyed by its image ID, the artifact ID the registry lists,
// and only values every image of the build shares have plain keys. Every
// image names the build's source as the input did (the cloud image the kvm
// build started from), so the build's source ID does not depend on which
// image Packer reads last.
func (a *Artifact) hcpImages() []*registryimage.Image {
	sourceID := a.SourceImageID
	if sourceID == "" {
		sourceID = a.SourceSHA256
	}
	shared := map[string]string{
		"virtual_size": strconv.FormatInt(a.VirtualSize, 10),
		"source_image": a.Source,
	}
	for label, key := range map[string]string{"accelerator": "Accelerator", "source_url": "SourceImageURL"} {
		if v, _ := a.GeneratedData[key].(string); v != "" {
			shared[label] = v
		}
	}
	var images []*registryimage.Image
	for _, o := range a.Outputs {
		labels := map[string]string{o.SHA256 + ".format": o.Format, o.SHA256 + ".file": o.Path}
		for k, v := range shared {
			labels[k] = v
		}
		images = append(images, &registryimage.Image{
			ImageID:        o.SHA256,
			ProviderName:   "kvm",
			ProviderRegion: "local",
			SourceImageID:  sourceID,
			Labels:         labels,
		})
	}
	return images
}

// vagrantDisk is the output the vagrant post-processor boxes: the first
// qcow2 (vagrant-libvirt takes qcow2 disks only) whose name starts no other
// file's name, since that post-processor takes every artifact file whose
// name starts with diskName as a disk.
func (a *Artifact) vagrantDisk() *Output {
	files := a.Files()
	for i, o := range a.Outputs {
		if o.Format != "qcow2" {
			continue
		}
		name, unique := filepath.Base(o.Path), true
		for _, f := range files {
			if f != o.Path && strings.HasPrefix(filepath.Base(f), name) {
				unique = false
			}
		}
		if unique {
			return &a.Outputs[i]
		}
	}
	return nil
}

// upstreamSourceID reads the SourceImageID an input artifact gives HCP
// Packer, decoding its state as Packer core does.
func upstreamSourceID(input packersdk.Artifact) string {
	var images []registryimage.Image
	decoder, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &images, WeaklyTypedInput: true})
	if err != nil || decoder.Decode(input.State(registryimage.ArtifactStateURI)) != nil {
		return ""
	}
	for _, img := range images {
		if img.SourceImageID != "" {
			return img.SourceImageID
		}
	}
	return ""
}

func (a *Artifact) Destroy() error { return fileutil.RemoveFiles(a.Files()) }

// stringKeys turns generated data as it comes over Packer's RPC (msgpack
// decodes maps as map[interface{}]interface{}) back into string keys.
func stringKeys(v interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	switch m := v.(type) {
	case map[string]interface{}:
		for k, val := range m {
			out[k] = normalize(val)
		}
	case map[interface{}]interface{}:
		for k, val := range m {
			out[fmt.Sprint(k)] = normalize(val)
		}
	}
	return out
}

func normalize(v interface{}) interface{} {
	switch m := v.(type) {
	case map[interface{}]interface{}, map[string]interface{}:
		return stringKeys(m)
	case []interface{}:
		out := make([]interface{}, len(m))
		for i, e := range m {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

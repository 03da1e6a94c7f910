package export

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// Artifact is the set of exported files and their checksum file.
type Artifact struct {
	Outputs       []Output
	ChecksumFile  string
	Source        string
	SourceSHA256  string
	VirtualSize   int64
	GeneratedData map[string]interface{}
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

// State carries the builder's generated data forward and answers HCP
// Packer with one image per output.
func (a *Artifact) State(name string) interface{} {
	switch name {
	case "generated_data":
		return a.GeneratedData
	case registryimage.ArtifactStateURI:
		var images []*registryimage.Image
		for _, o := range a.Outputs {
			images = append(images, &registryimage.Image{
				ImageID:        o.SHA256,
				ProviderName:   "kvm",
				ProviderRegion: "local",
				SourceImageID:  a.SourceSHA256,
				Labels: map[string]string{
					"format":       o.Format,
					"file":         filepath.Base(o.Path),
					"virtual_size": strconv.FormatInt(a.VirtualSize, 10),
					"source_image": a.Source,
				},
			})
		}
		return images
	}
	return nil
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

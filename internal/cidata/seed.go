package cidata

import (
	"fmt"

	"github.com/kvmforge/packer-plugin-kvm/internal/iso9660"
)

// VolumeLabel is the label cloud-init's NoCloud datasource looks for.
const VolumeLabel = "cidata"

// Seed is what a NoCloud seed carries.
type Seed struct {
	// InstanceID is the meta-data's instance-id: a fresh one makes
	// cloud-init treat every build boot as a first boot, even from an
	// image it has seen.
	InstanceID string
	// Hostname is the meta-data's local-hostname.
	Hostname string
	// UserData is the whole user-data (see MergeUserData).
	UserData string
	// NetworkConfig is the network-config; empty leaves the file out.
	NetworkConfig string
}

// Files lists the seed's files: meta-data, user-data and, when set,
// network-config.
func (s Seed) Files() []iso9660.File {
	files := []iso9660.File{
		{Name: "meta-data", Content: []byte(metaData(s.InstanceID, s.Hostname))},
		{Name: "user-data", Content: []byte(s.UserData)},
	}
	if s.NetworkConfig != "" {
		files = append(files, iso9660.File{Name: "network-config", Content: []byte(s.NetworkConfig)})
	}
	return files
}

// Write writes the seed at path as an ISO9660 volume labelled "cidata",
// in Go: no xorriso or genisoimage is needed on the host.
func (s Seed) Write(path string) error {
	return iso9660.Write(path, VolumeLabel, s.Files())
}

// metaData is the NoCloud meta-data.
func metaData(instanceID, hostname string) string {
	return fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", instanceID, hostname)
}

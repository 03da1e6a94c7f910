package kvm

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/uuid"
)

// stepCreateSeed writes the cloud-init NoCloud seed: an ISO9660 volume
// labelled "cidata" with meta-data, user-data and optionally network-config.
// It is written in Go, so no xorriso/genisoimage is needed on the host.
// The user-data carries only a hash of Password.
//
// It reads ui and work_dir, and writes seed_path and instance_id.
type stepCreateSeed struct {
	Hostname      string
	User          seedUser
	Password      string
	PublicKey     func() string
	UserData      string
	NetworkConfig string
}

func (s *stepCreateSeed) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	user := s.User
	user.PublicKey = s.PublicKey()
	user.Hostname = s.Hostname
	if s.Password != "" {
		hash, err := hashPassword(s.Password)
		if err != nil {
			return halt(state, fmt.Errorf("hashing ssh_password: %w", err))
		}
		packersdk.LogSecretFilter.Set(hash)
		user.PasswordHash = hash
	}
	userData, err := mergeUserData(s.UserData, user)
	if err != nil {
		return halt(state, fmt.Errorf("building cloud-init user-data: %w", err))
	}
	instanceID := "packer-" + uuid.TimeOrderedUUID()
	keyInstanceID.Put(state, instanceID)
	files := map[string]string{
		"meta-data": metaData(instanceID, s.Hostname),
		"user-data": userData,
	}
	if s.NetworkConfig != "" {
		files["network-config"] = s.NetworkConfig
	}
	path := filepath.Join(keyWorkDir.Get(state), "seed.iso")
	if err := writeSeedISO(path, files); err != nil {
		return halt(state, fmt.Errorf("writing the cloud-init seed: %w", err))
	}
	ui.Say("Created the cloud-init NoCloud seed")
	keySeedPath.Put(state, path)
	return multistep.ActionContinue
}

func (s *stepCreateSeed) Cleanup(multistep.StateBag) {}

// writeSeedISO writes the seed's files into an ISO9660 volume labelled
// "cidata" (iso_writer.go).
func writeSeedISO(path string, files map[string]string) error {
	var entries []isoFile
	for name, content := range files {
		entries = append(entries, isoFile{Name: name, Content: []byte(content)})
	}
	return writeISO(path, "cidata", entries)
}

package kvm

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/uuid"

	"github.com/kvmforge/packer-plugin-kvm/internal/cidata"
	"github.com/kvmforge/packer-plugin-kvm/internal/guestaccess"
)

// stepCreateSeed writes the cloud-init NoCloud seed (internal/cidata): an
// ISO9660 volume labelled "cidata" with meta-data, user-data and optionally
// network-config. It gives cidata the build access as plain data: the
// bootcmd that records what stepRevokeBuildAccess restores, and only a
// hash of Password.
//
// It reads ui and work_dir, and writes seed_path and instance_id.
type stepCreateSeed struct {
	Hostname      string
	User          cidata.User
	Password      string
	PublicKey     func() string
	UserData      string
	NetworkConfig string
}

func (s *stepCreateSeed) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	user := s.User
	user.PublicKey = s.PublicKey()
	if s.Password != "" {
		hash, err := guestaccess.HashPassword(s.Password)
		if err != nil {
			return halt(state, fmt.Errorf("hashing ssh_password: %w", err))
		}
		packersdk.LogSecretFilter.Set(hash)
		user.PasswordHash = hash
	}
	if s.Hostname != "" {
		user.Bootcmd = guestaccess.Bootcmd(user.Name, s.Hostname, user.PasswordHash != "")
	}
	userData, err := cidata.MergeUserData(s.UserData, user)
	if err != nil {
		return halt(state, fmt.Errorf("building cloud-init user-data: %w", err))
	}
	instanceID := "packer-" + uuid.TimeOrderedUUID()
	keyInstanceID.Put(state, instanceID)
	seed := cidata.Seed{InstanceID: instanceID, Hostname: s.Hostname, UserData: userData, NetworkConfig: s.NetworkConfig}
	path := filepath.Join(keyWorkDir.Get(state), "seed.iso")
	if err := seed.Write(path); err != nil {
		return halt(state, fmt.Errorf("writing the cloud-init seed: %w", err))
	}
	ui.Say("Created the cloud-init NoCloud seed")
	keySeedPath.Put(state, path)
	return multistep.ActionContinue
}

func (s *stepCreateSeed) Cleanup(multistep.StateBag) {}

package kvm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
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
	ui := state.Get("ui").(packersdk.Ui)
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
	state.Put("instance_id", instanceID)
	files := map[string]string{
		"meta-data": metaData(instanceID, s.Hostname),
		"user-data": userData,
	}
	if s.NetworkConfig != "" {
		files["network-config"] = s.NetworkConfig
	}
	path := filepath.Join(state.Get("work_dir").(string), "seed.iso")
	if err := writeSeedISO(path, files); err != nil {
		return halt(state, fmt.Errorf("writing the cloud-init seed: %w", err))
	}
	ui.Say("Created the cloud-init NoCloud seed")
	state.Put("seed_path", path)
	return multistep.ActionContinue
}

func (s *stepCreateSeed) Cleanup(multistep.StateBag) {}

// writeSeedISO writes files into a new ISO9660 image with Rock Ridge and
// Joliet names, so "meta-data" keeps its dash on every guest kernel.
func writeSeedISO(path string, files map[string]string) error {
	workspace, err := os.MkdirTemp(filepath.Dir(path), ".seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(workspace)

	img, err := diskfs.Create(path, 1<<20, diskfs.SectorSizeDefault)
	if err != nil {
		return err
	}
	defer img.Close()
	img.LogicalBlocksize = 2048
	fs, err := img.CreateFilesystem(disk.FilesystemSpec{FSType: filesystem.TypeISO9660, VolumeLabel: "cidata", WorkDir: workspace})
	if err != nil {
		return err
	}
	for name, content := range files {
		f, err := fs.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			return err
		}
		if _, err := f.Write([]byte(content)); err != nil {
			return err
		}
	}
	iso, ok := fs.(*iso9660.FileSystem)
	if !ok {
		return fmt.Errorf("unexpected filesystem type %T", fs)
	}
	return iso.Finalize(iso9660.FinalizeOptions{RockRidge: true, Joliet: true, VolumeIdentifier: "cidata"})
}

// halt records err for Packer and stops the build.
// halt ends a step with err: every step that fails writes the state key
// error through here (and reads ui to show it).
func halt(state multistep.StateBag, err error) multistep.StepAction {
	state.Put("error", err)
	state.Get("ui").(packersdk.Ui).Error(err.Error())
	return multistep.ActionHalt
}

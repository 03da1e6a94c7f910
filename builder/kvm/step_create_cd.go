package kvm

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/iso9660"
)

// defaultCDLabel is the volume label of a cd_files CD without cd_label.
const defaultCDLabel = "packer"

// stepCreateCD writes cd_files and cd_content into an ISO9660 image with
// the project's pure-Go writer (internal/iso9660), for an installer to read
// its answer file or drivers from. Without files it does nothing.
//
// It reads ui and work_dir, and writes cd_path.
type stepCreateCD struct {
	Files   []string
	Content map[string]string
	Label   string
}

func (s *stepCreateCD) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if len(s.Files) == 0 && len(s.Content) == 0 {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	files, err := iso9660.FilesFrom(s.Files, s.Content)
	if err != nil {
		return halt(state, fmt.Errorf("cd_files: %w", err))
	}
	label := s.Label
	if label == "" {
		label = defaultCDLabel
	}
	path := filepath.Join(keyWorkDir.Get(state), "cd.iso")
	if err := iso9660.Write(path, label, files); err != nil {
		return halt(state, fmt.Errorf("writing the cd_files CD: %w", err))
	}
	ui.Say(fmt.Sprintf("Created the CD %q with %d file(s)", label, len(files)))
	keyCDPath.Put(state, path)
	return multistep.ActionContinue
}

func (s *stepCreateCD) Cleanup(multistep.StateBag) {}

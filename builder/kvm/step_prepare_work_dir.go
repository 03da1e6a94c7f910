package kvm

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// workDirPrefix starts the work directory's name; a build that finds one
// in its locked output directory knows it is a killed build's leftover.
const workDirPrefix = ".packer-kvm-"

// stepPrepareWorkDir makes a hidden scratch directory inside the output
// directory for the overlay, seed and firmware variables. Keeping it on the
// output's filesystem makes the final rename atomic; removing it in Cleanup
// leaves only the finished image behind, whatever happened.
//
// It writes work_dir (and reads it back in Cleanup).
type stepPrepareWorkDir struct {
	OutputDir string
}

func (s *stepPrepareWorkDir) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	dir, err := os.MkdirTemp(s.OutputDir, workDirPrefix)
	if err != nil {
		return halt(state, fmt.Errorf("creating a work directory in %s: %w", s.OutputDir, err))
	}
	keyWorkDir.Put(state, dir)
	return multistep.ActionContinue
}

func (s *stepPrepareWorkDir) Cleanup(state multistep.StateBag) {
	if dir, ok := keyWorkDir.GetOk(state); ok {
		os.RemoveAll(dir)
	}
}

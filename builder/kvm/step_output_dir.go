package kvm

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/outputdir"
)

// stepOutputDir prepares the output directory, which the build has already
// locked (outputdir.Acquire): no other build can be using it. So the hidden
// work directory or temporary image of a build that was killed (SIGKILL,
// power loss) is a leftover and is removed with a message, instead of
// making the directory look taken. A directory with other content needs
// -force, which empties it; a path that is a file is never deleted. After
// a failed or cancelled build the directory is removed again (or emptied,
// when it existed before). It reads ui and writes no state keys.
type stepOutputDir struct {
	Path  string
	Force bool

	created, prepared bool
}

func (s *stepOutputDir) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	info, err := os.Lstat(s.Path)
	switch {
	case os.IsNotExist(err):
		if err := os.MkdirAll(s.Path, 0o755); err != nil {
			return halt(state, fmt.Errorf("creating output_directory: %w", err))
		}
		s.created, s.prepared = true, true
		return multistep.ActionContinue
	case err != nil:
		return halt(state, fmt.Errorf("output_directory: %w", err))
	case !info.IsDir():
		return halt(state, fmt.Errorf("output_directory %s is a file, not a directory: choose another path (it is not deleted, even with -force)", s.Path))
	}
	leftover := func(name string) {
		ui.Say(fmt.Sprintf("Removing %s, left by an earlier build of %s that was killed", name, s.Path))
	}
	if err := outputdir.RemoveLeftovers(s.Path, workDirPrefix, leftover); err != nil {
		return halt(state, err)
	}
	entries, err := os.ReadDir(s.Path)
	if err != nil {
		return halt(state, fmt.Errorf("output_directory: %w", err))
	}
	if len(entries) > 0 {
		if !s.Force {
			return halt(state, fmt.Errorf("output_directory %s exists and is not empty: run packer build -force to replace its content, or set another output_directory", s.Path))
		}
		ui.Say("Deleting previous output directory...")
		if err := outputdir.Empty(s.Path); err != nil {
			return halt(state, fmt.Errorf("emptying output_directory: %w", err))
		}
	}
	s.prepared = true
	return multistep.ActionContinue
}

func (s *stepOutputDir) Cleanup(state multistep.StateBag) {
	_, cancelled := state.GetOk(multistep.StateCancelled)
	_, halted := state.GetOk(multistep.StateHalted)
	if !s.prepared || !cancelled && !halted {
		return
	}
	ui := keyUI.Get(state)
	ui.Say("Deleting output directory...")
	remove := func() error { return outputdir.Empty(s.Path) }
	if s.created {
		remove = func() error { return os.RemoveAll(s.Path) }
	}
	// A process that still closes files in it (QEMU going down) can make
	// the first attempts fail.
	for i := 0; i < 5; i++ {
		if err := remove(); err == nil {
			return
		} else if i == 4 {
			ui.Error(fmt.Sprintf("Error removing output directory: %s", err))
		}
		time.Sleep(2 * time.Second)
	}
}

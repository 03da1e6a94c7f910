package kvm

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"
)

// stepPublishRuntimeData exposes what the build settled at run time (the
// accelerator and the SSH port) to provisioners as `build.<Name>`.
//
// It reads accelerator and ssh_host_port, and writes them into
// generated_data (through Generated).
type stepPublishRuntimeData struct {
	Generated *packerbuilderdata.GeneratedData
}

func (s *stepPublishRuntimeData) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	s.Generated.Put("Accelerator", keyAccelerator.Get(state))
	s.Generated.Put("SSHHostPort", keySSHHostPort.Get(state))
	return multistep.ActionContinue
}

func (s *stepPublishRuntimeData) Cleanup(multistep.StateBag) {}

package kvm

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"
)

// stepPublishRuntimeData exposes what the build settled at run time (the
// accelerator, the SSH port and the HTTP server's address as the guest
// reaches it) to provisioners as `build.<Name>`.
//
// It reads accelerator, ssh_host_port, http_port and http_ip, and writes
// them into generated_data (through Generated).
type stepPublishRuntimeData struct {
	Generated *packerbuilderdata.GeneratedData
}

func (s *stepPublishRuntimeData) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	s.Generated.Put("Accelerator", keyAccelerator.Get(state))
	s.Generated.Put("SSHHostPort", keySSHHostPort.Get(state))
	if port := keyHTTPPort.Get(state); port != 0 {
		s.Generated.Put("HTTPIP", guestHTTPIP(state))
		s.Generated.Put("HTTPPort", port)
	}
	return multistep.ActionContinue
}

func (s *stepPublishRuntimeData) Cleanup(multistep.StateBag) {}

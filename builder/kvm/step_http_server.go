package kvm

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
)

// stepHTTPServer runs the SDK's HTTP server, on the host's address on
// net_bridge when OnBridge (the user named no address of their own).
//
// It reads bridge_address; the SDK's step writes http_port.
type stepHTTPServer struct {
	Server   *commonsteps.StepHTTPServer
	OnBridge bool
}

func (s *stepHTTPServer) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if addr, ok := keyBridgeAddress.GetOk(state); ok && s.OnBridge {
		s.Server.HTTPAddress = addr.Addr().String()
	}
	return s.Server.Run(ctx, state)
}

func (s *stepHTTPServer) Cleanup(state multistep.StateBag) { s.Server.Cleanup(state) }

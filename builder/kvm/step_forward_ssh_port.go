package kvm

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/net"

	"github.com/kvmforge/packer-plugin-kvm/internal/portlock"
)

// stepForwardSSHPort reserves a free host port on 127.0.0.1 for the guest's
// SSH. The SDK's listener holds a lock on the port's file in Packer's
// cache (port/) until Cleanup, so parallel builds (even in other Packer
// processes sharing the cache) never pick the same one. The file stays:
// the SDK's Close does not get to delete it once the socket is closed,
// which is as it should be (deleting a lock file lets two builds lock
// two inodes of one port, see internal/outputdir).
//
// It reads ui and writes ssh_host_port.
type stepForwardSSHPort struct {
	MinPort, MaxPort int
	listener         *net.Listener
}

func (s *stepForwardSSHPort) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	l, err := net.ListenRangeConfig{Addr: "127.0.0.1", Min: s.MinPort, Max: s.MaxPort, Network: "tcp"}.Listen(ctx)
	if err != nil {
		return halt(state, fmt.Errorf("finding a free port for SSH between %d and %d: %w", s.MinPort, s.MaxPort, err))
	}
	// QEMU binds the port itself; the lock stays held until Cleanup.
	_ = portlock.HandOver(l)
	s.listener = l
	ui.Say(fmt.Sprintf("Forwarding 127.0.0.1:%d to the guest's SSH port", l.Port))
	keySSHHostPort.Put(state, l.Port)
	return multistep.ActionContinue
}

func (s *stepForwardSSHPort) Cleanup(multistep.StateBag) {
	if s.listener != nil {
		s.listener.Close()
	}
}

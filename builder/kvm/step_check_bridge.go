package kvm

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/guestaddr"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// stepCheckBridge checks, before anything is downloaded or started, what
// net_bridge needs of the host: the bridge, QEMU's bridge helper (setuid
// root unless the build runs as root) and, when the HTTP server is to
// listen there, the host's IPv4 address on the bridge. The helper's ACL
// (/etc/qemu/bridge.conf) is only readable by the helper itself: a denial
// is recognised when QEMU starts (qemu.BridgeFailure in stepRunVM).
//
// It reads ui and writes ssh_host_port (the guest's ssh_port), and
// bridge_address and http_ip when the bridge has an address.
type stepCheckBridge struct {
	Bridge, Helper, MAC string
	SSHPort             int
	// HTTPServer: the build serves http_directory or http_content.
	// HTTPBindAddress is the user's http_bind_address, "" when the server
	// is to listen on the bridge.
	HTTPServer      bool
	HTTPBindAddress string

	// SysClassNet, EUID and AddressOf are the host as the step sees it;
	// their zero values are this host's (tests give others).
	SysClassNet string
	EUID        *int
	AddressOf   func(name string) (netip.Prefix, error)
}

func (s *stepCheckBridge) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	sys := s.SysClassNet
	if sys == "" {
		sys = "/sys/class/net"
	}
	if err := qemu.CheckBridge(sys, s.Bridge); err != nil {
		return halt(state, err)
	}
	euid := os.Geteuid()
	if s.EUID != nil {
		euid = *s.EUID
	}
	if err := qemu.CheckBridgeHelper(s.Helper, euid); err != nil {
		return halt(state, err)
	}
	addressOf := s.AddressOf
	if addressOf == nil {
		addressOf = guestaddr.BridgeAddress
	}
	addr, err := addressOf(s.Bridge)
	switch {
	case err == nil:
		keyBridgeAddress.Put(state, addr)
		keyHTTPIP.Put(state, addr.Addr().String())
	case s.HTTPServer && s.HTTPBindAddress != "" && !isWildcard(s.HTTPBindAddress):
		keyHTTPIP.Put(state, s.HTTPBindAddress)
	case s.HTTPServer:
		return halt(state, fmt.Errorf("net_bridge %q: the HTTP server listens on the host's IPv4 address on the bridge, and the bridge has none (%v): give the bridge an address (such as `ip addr add 192.168.77.1/24 dev %s`) or set http_bind_address to a host address the guest can reach", s.Bridge, err, s.Bridge))
	}
	keySSHHostPort.Put(state, s.SSHPort)
	ui.Say(fmt.Sprintf("Attaching the guest's network card (MAC %s) to bridge %s through %s", s.MAC, s.Bridge, s.Helper))
	return multistep.ActionContinue
}

func (s *stepCheckBridge) Cleanup(multistep.StateBag) {}

func isWildcard(addr string) bool {
	ip := net.ParseIP(addr)
	return ip == nil || ip.IsUnspecified()
}

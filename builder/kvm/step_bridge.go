package kvm

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"

	"github.com/kvmforge/packer-plugin-kvm/internal/guestaddr"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
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

// guestHTTPIP is where the guest reaches the build's HTTP server: the
// host's address on net_bridge, or the host's loopback through QEMU's user
// network.
func guestHTTPIP(state multistep.StateBag) string {
	if ip, ok := keyHTTPIP.GetOk(state); ok {
		return ip
	}
	return userNetHostIP
}

// sshHost is where SSH reaches the guest: its address on net_bridge, or
// the user network's forward on the host's loopback.
func sshHost(state multistep.StateBag) string {
	if addr, ok := keyGuestAddress.GetOk(state); ok {
		return addr
	}
	return "127.0.0.1"
}

// addressFinder finds the guest's address (guestaddr.Finder).
type addressFinder interface {
	Wait(ctx context.Context, timeout time.Duration) (guestaddr.Found, error)
}

// stepFindGuestAddress finds the address the guest on net_bridge got,
// from what the host sees of its MAC (internal/guestaddr), unless SSHHost
// (ssh_host) names it. The VM watch ends the wait when the VM fails, and
// a serial console silent for ProgressTimeout ends it as it ends the wait
// for SSH (vmwatch.BootProgress).
//
// It reads ui, bridge_address and serial_log, and writes guest_address.
type stepFindGuestAddress struct {
	Bridge, MAC, SSHHost string
	Timeout              time.Duration
	// ProgressTimeout bounds the serial console's silence; 0 disables it
	// (installers may print nothing there).
	ProgressTimeout time.Duration
	// NewFinder makes the finder; nil means guestaddr.New.
	NewFinder func(bridge string, mac net.HardwareAddr, subnet netip.Prefix) addressFinder
	// PollInterval is how often the boot progress is checked (250ms if 0).
	PollInterval time.Duration
}

func (s *stepFindGuestAddress) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	if s.SSHHost != "" {
		ui.Say(fmt.Sprintf("Connecting to the guest at %s (ssh_host)", s.SSHHost))
		keyGuestAddress.Put(state, s.SSHHost)
		return multistep.ActionContinue
	}
	mac, err := net.ParseMAC(s.MAC)
	if err != nil {
		return halt(state, fmt.Errorf("mac_address: %w", err))
	}
	newFinder := s.NewFinder
	if newFinder == nil {
		newFinder = func(bridge string, mac net.HardwareAddr, subnet netip.Prefix) addressFinder {
			return guestaddr.New(bridge, mac, subnet)
		}
	}
	ui.Say(fmt.Sprintf("Looking for the address of MAC %s on bridge %s (up to %s)...", mac, s.Bridge, s.Timeout))
	start := time.Now()
	found, stalled, err := s.wait(ctx, state, newFinder(s.Bridge, mac, keyBridgeAddress.Get(state)))
	switch {
	case stalled != nil:
		return halt(state, stalled)
	case err != nil && ctx.Err() != nil:
		return halt(state, ctx.Err())
	case err != nil:
		return halt(state, fmt.Errorf("finding the guest on bridge %s: %w%s", s.Bridge, err, serialTail(keySerialLog.Get(state), 30)))
	}
	ui.Say(fmt.Sprintf("The guest is at %s (from %s, after %s)", found.Addr, found.Source, time.Since(start).Round(100*time.Millisecond)))
	keyGuestAddress.Put(state, found.Addr.String())
	return multistep.ActionContinue
}

// wait runs the finder while it watches the boot's progress: stalled is
// the progress watch's error, err the finder's.
func (s *stepFindGuestAddress) wait(ctx context.Context, state multistep.StateBag, finder addressFinder) (found guestaddr.Found, stalled, err error) {
	findCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		found guestaddr.Found
		err   error
	}
	done := make(chan result, 1)
	go func() {
		f, werr := finder.Wait(findCtx, s.Timeout)
		done <- result{f, werr}
	}()
	progress := vmwatch.NewBootProgress(serialLogOf(keySerialLog.Get(state)), nil, 0)
	tick := time.NewTicker(cmp.Or(s.PollInterval, 250*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			return r.found, nil, r.err
		case <-tick.C:
			if silent := progress.Check(ctx, s.ProgressTimeout); silent != nil {
				cancel()
				<-done
				return guestaddr.Found{}, silent, nil
			}
		}
	}
}

func (s *stepFindGuestAddress) Cleanup(multistep.StateBag) {}

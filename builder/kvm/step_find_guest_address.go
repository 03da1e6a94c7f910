package kvm

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/guestaddr"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
)

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

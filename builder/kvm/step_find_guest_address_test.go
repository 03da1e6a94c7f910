package kvm

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/guestaddr"
)

func TestStepFindGuestAddress(t *testing.T) {
	state, _ := testState(t)
	keyBridgeAddress.Put(state, netip.MustParsePrefix("192.168.77.1/24"))
	finder := &fakeFinder{found: guestaddr.Found{Addr: netip.MustParseAddr("192.168.77.40"), Source: "the neighbour table of br0"}}
	step := &stepFindGuestAddress{Bridge: "br0", MAC: "52:54:00:12:34:56", Timeout: time.Minute,
		NewFinder: func(bridge string, mac net.HardwareAddr, subnet netip.Prefix) addressFinder {
			if bridge != "br0" || mac.String() != "52:54:00:12:34:56" {
				t.Errorf("finder for %s %s", bridge, mac)
			}
			finder.subnet = subnet
			return finder
		}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if sshHost(state) != "192.168.77.40" || finder.subnet.String() != "192.168.77.1/24" || finder.timeout != time.Minute {
		t.Fatalf("SSH host %q, subnet %v, timeout %s", sshHost(state), finder.subnet, finder.timeout)
	}
	if !strings.Contains(uiOutput(state), "192.168.77.40 (from the neighbour table of br0") {
		t.Errorf("where the guest was found is not said: %s", uiOutput(state))
	}

	state, _ = testState(t)
	finder.err = errors.New("no IPv4 address seen for the guest's MAC")
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("continued without an address")
	}
	if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "finding the guest on bridge br0: no IPv4 address seen") {
		t.Fatalf("error %v", err)
	}
}

// A guest whose serial console stays silent fails the search as it fails
// the wait for SSH, long before the address timeout.
func TestStepFindGuestAddress_silentConsoleEndsTheSearch(t *testing.T) {
	state, _ := testState(t)
	serial := filepath.Join(t.TempDir(), "serial.log")
	if err := os.WriteFile(serial, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	keySerialLog.Put(state, serial)
	finder := &fakeFinder{block: true}
	step := &stepFindGuestAddress{Bridge: "br0", MAC: "52:54:00:12:34:56", Timeout: time.Hour,
		ProgressTimeout: 100 * time.Millisecond, PollInterval: 10 * time.Millisecond,
		NewFinder: func(string, net.HardwareAddr, netip.Prefix) addressFinder { return finder }}
	start := time.Now()
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("continued")
	}
	if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "boot_progress_timeout") {
		t.Fatalf("error %v, want the boot progress watch's", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

// The not-found error carries the serial console's tail: why the guest
// has no address is often there.
func TestStepFindGuestAddress_notFoundShowsTheConsole(t *testing.T) {
	state, _ := testState(t)
	serial := filepath.Join(t.TempDir(), "serial.log")
	if err := os.WriteFile(serial, []byte("dhclient: No DHCPOFFERS received.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keySerialLog.Put(state, serial)
	finder := &fakeFinder{err: errors.New("no IPv4 address seen")}
	step := &stepFindGuestAddress{Bridge: "br0", MAC: "52:54:00:12:34:56", Timeout: time.Minute,
		NewFinder: func(string, net.HardwareAddr, netip.Prefix) addressFinder { return finder }}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("continued")
	}
	if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "No DHCPOFFERS received") {
		t.Fatalf("error %v, want the console's tail", err)
	}
}

func TestStepFindGuestAddress_sshHostSkipsTheSearch(t *testing.T) {
	state, _ := testState(t)
	step := &stepFindGuestAddress{Bridge: "br0", MAC: "52:54:00:12:34:56", SSHHost: "10.9.8.7",
		NewFinder: func(string, net.HardwareAddr, netip.Prefix) addressFinder {
			t.Fatal("searched although ssh_host is set")
			return nil
		}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if sshHost(state) != "10.9.8.7" {
		t.Fatalf("SSH host %q", sshHost(state))
	}
}

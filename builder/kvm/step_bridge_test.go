package kvm

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"

	"github.com/kvmforge/packer-plugin-kvm/internal/guestaddr"
)

// fakeHost is a /sys/class/net with the bridge br0 and the device eth0,
// and an executable helper.
func fakeHost(t *testing.T) (sys, helper string) {
	t.Helper()
	sys = t.TempDir()
	for _, dir := range []string{"br0/bridge", "eth0"} {
		if err := os.MkdirAll(filepath.Join(sys, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	helper = filepath.Join(t.TempDir(), "qemu-bridge-helper")
	if err := os.WriteFile(helper, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return sys, helper
}

func addressOf(prefix string) func(string) (netip.Prefix, error) {
	return func(string) (netip.Prefix, error) {
		if prefix == "" {
			return netip.Prefix{}, errors.New("it has no IPv4 address")
		}
		return netip.MustParsePrefix(prefix), nil
	}
}

func TestStepCheckBridge_putsTheBridgeAddressAndTheSSHPort(t *testing.T) {
	state, _ := testState(t)
	sys, helper := fakeHost(t)
	root := 0
	step := &stepCheckBridge{Bridge: "br0", Helper: helper, MAC: "52:54:00:12:34:56", SSHPort: 22, HTTPServer: true,
		SysClassNet: sys, EUID: &root, AddressOf: addressOf("192.168.77.1/24")}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if keySSHHostPort.Get(state) != 22 || keyBridgeAddress.Get(state).String() != "192.168.77.1/24" || guestHTTPIP(state) != "192.168.77.1" {
		t.Fatalf("state: port %d, bridge %v, HTTPIP %q", keySSHHostPort.Get(state), keyBridgeAddress.Get(state), guestHTTPIP(state))
	}
	if !strings.Contains(uiOutput(state), "MAC 52:54:00:12:34:56") {
		t.Errorf("the MAC is not logged: %s", uiOutput(state))
	}
}

func TestStepCheckBridge_refusals(t *testing.T) {
	sys, helper := fakeHost(t)
	root, user := 0, 1000
	for _, tc := range []struct {
		name string
		step stepCheckBridge
		want string
	}{
		{"missing bridge", stepCheckBridge{Bridge: "br9", Helper: helper, EUID: &root}, "ip link add br9 type bridge"},
		{"not a bridge", stepCheckBridge{Bridge: "eth0", Helper: helper, EUID: &root}, "not a bridge"},
		{"no helper", stepCheckBridge{Bridge: "br0", EUID: &root}, "net_bridge_helper"},
		{"helper not setuid", stepCheckBridge{Bridge: "br0", Helper: helper, EUID: &user}, "chmod u+s"},
		{"no address for the HTTP server", stepCheckBridge{Bridge: "br0", Helper: helper, EUID: &root, HTTPServer: true, AddressOf: addressOf("")},
			"give the bridge an address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, _ := testState(t)
			step := tc.step
			step.SysClassNet = sys
			if step.AddressOf == nil {
				step.AddressOf = addressOf("192.168.77.1/24")
			}
			if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
				t.Fatal("continued")
			}
			if err := stateErr(state); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestStepCheckBridge_noAddressIsFineWithoutHTTPOrWithABindAddress(t *testing.T) {
	sys, helper := fakeHost(t)
	root := 0
	state, _ := testState(t)
	step := &stepCheckBridge{Bridge: "br0", Helper: helper, SSHPort: 2200, SysClassNet: sys, EUID: &root, AddressOf: addressOf("")}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if _, ok := keyBridgeAddress.GetOk(state); ok || keySSHHostPort.Get(state) != 2200 {
		t.Fatal("an address was made up, or the SSH port lost")
	}
	state, _ = testState(t)
	step = &stepCheckBridge{Bridge: "br0", Helper: helper, SysClassNet: sys, EUID: &root, AddressOf: addressOf(""),
		HTTPServer: true, HTTPBindAddress: "10.1.2.3"}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if guestHTTPIP(state) != "10.1.2.3" {
		t.Fatalf("HTTPIP %q, want the user's http_bind_address", guestHTTPIP(state))
	}
}

func TestGuestHTTPIPAndSSHHostOnTheUserNetwork(t *testing.T) {
	state, _ := testState(t)
	if guestHTTPIP(state) != "10.0.2.2" || sshHost(state) != "127.0.0.1" {
		t.Fatalf("user network: HTTPIP %q, SSH host %q", guestHTTPIP(state), sshHost(state))
	}
	keyGuestAddress.Put(state, "192.168.77.40")
	if sshHost(state) != "192.168.77.40" {
		t.Fatalf("SSH host %q", sshHost(state))
	}
}

// The HTTP server listens on the bridge's address only: a real server, a
// real request.
func TestStepHTTPServer_listensOnTheBridgeAddress(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	state, _ := testState(t)
	// 127.0.0.2 stands for the bridge's address: on the loopback, but not
	// 127.0.0.1.
	keyBridgeAddress.Put(state, netip.MustParsePrefix("127.0.0.2/8"))
	step := &stepHTTPServer{OnBridge: true, Server: &commonsteps.StepHTTPServer{HTTPDir: dir, HTTPPortMin: 8000, HTTPPortMax: 9000,
		HTTPAddress: "127.0.0.1", HTTPNetworkProcotol: "tcp"}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	defer step.Cleanup(state)
	port := keyHTTPPort.Get(state)
	resp, err := http.Get("http://" + net.JoinHostPort("127.0.0.2", strconv.Itoa(port)) + "/f")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("served %q", body)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
		conn.Close()
		t.Fatal("the HTTP server also listens on 127.0.0.1")
	}
}

type fakeFinder struct {
	found   guestaddr.Found
	err     error
	subnet  netip.Prefix
	timeout time.Duration
	// block: Wait returns only when its context ends.
	block bool
}

func (f *fakeFinder) Wait(ctx context.Context, timeout time.Duration) (guestaddr.Found, error) {
	f.timeout = timeout
	if f.block {
		<-ctx.Done()
		return guestaddr.Found{}, ctx.Err()
	}
	return f.found, f.err
}

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

// QEMU refused by the helper's ACL: the error names the line to add.
func TestStepRunVM_bridgeACLDenialNamesTheFix(t *testing.T) {
	state, driver := testState(t)
	dir := t.TempDir()
	keyWorkDir.Put(state, dir)
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, dir+"/disk.qcow2")
	driver.StartErr = errors.New("QEMU exited at start: exit status 1: access denied by acl file\nqemu-system-x86_64: -netdev bridge,id=net0,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper: bridge helper failed")
	spec := testSpec()
	spec.Hardware.Bridge, spec.Hardware.BridgeHelper, spec.Hardware.MACAddress = "br0", "/usr/lib/qemu/qemu-bridge-helper", "52:54:00:12:34:56"
	step := &stepRunVM{Spec: spec}
	defer step.Cleanup(state)
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("continued")
	}
	err := stateErr(state)
	if err == nil || !strings.Contains(err.Error(), "`allow br0` to /etc/qemu/bridge.conf") {
		t.Fatalf("error %v", err)
	}
	args := strings.Join(driver.StartArgs, " ")
	if !strings.Contains(args, "-netdev bridge,id=net0,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper") || strings.Contains(args, "hostfwd") {
		t.Fatalf("QEMU's network: %s", args)
	}
}

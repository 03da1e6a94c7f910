package kvm

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
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

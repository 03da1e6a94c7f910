package qemu

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The helper's and QEMU's messages, as QEMU 7.2's qemu-bridge-helper and
// net/tap.c print them.
const (
	qemuHelperFailed = "qemu-system-x86_64: -netdev bridge,id=net0,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper: bridge helper failed"
	aclMissing       = "failed to parse default acl file `/etc/qemu/bridge.conf'\n" + qemuHelperFailed
	aclDenied        = "access denied by acl file\n" + qemuHelperFailed
	notSetuid        = "failed to create tun device: Operation not permitted\n" + qemuHelperFailed
)

func exitedAtStart(stderr string) error {
	return errors.New("QEMU exited at start: exit status 1: " + stderr)
}

func TestBridgeFailure(t *testing.T) {
	const helper = "/usr/lib/qemu/qemu-bridge-helper"
	for _, tc := range []struct {
		name, stderr string
		want         []string
	}{
		{"no acl file", aclMissing, []string{"allow br0", "/etc/qemu/bridge.conf"}},
		{"bridge not allowed", aclDenied, []string{"allow br0", "/etc/qemu/bridge.conf"}},
		{"helper not setuid", notSetuid, []string{"chmod u+s " + helper}},
		{"helper failed otherwise", qemuHelperFailed, []string{"setuid root", "allow br0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := BridgeFailure(exitedAtStart(tc.stderr), "br0", helper)
			if err == nil {
				t.Fatal("not classified as a bridge failure")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "QEMU exited at start") {
				t.Errorf("error %q lost QEMU's own message", err)
			}
		})
	}
	if err := BridgeFailure(exitedAtStart("qemu-system-x86_64: -drive file=x: Could not open 'x'"), "br0", helper); err != nil {
		t.Errorf("a disk error classified as the bridge's: %v", err)
	}
	if err := BridgeFailure(exitedAtStart(aclDenied), "", helper); err != nil {
		t.Errorf("classified without a bridge configured: %v", err)
	}
	if err := BridgeFailure(nil, "br0", helper); err != nil {
		t.Errorf("nil error classified: %v", err)
	}
}

func TestCheckBridge(t *testing.T) {
	sys := t.TempDir()
	for _, dir := range []string{"br0/bridge", "eth0"} {
		if err := os.MkdirAll(filepath.Join(sys, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckBridge(sys, "br0"); err != nil {
		t.Errorf("br0: %v", err)
	}
	if err := CheckBridge(sys, "nosuch"); err == nil || !strings.Contains(err.Error(), "ip link add nosuch type bridge") {
		t.Errorf("missing bridge: %v", err)
	}
	if err := CheckBridge(sys, "eth0"); err == nil || !strings.Contains(err.Error(), "not a bridge") {
		t.Errorf("eth0: %v", err)
	}
}

func TestCheckBridgeHelper(t *testing.T) {
	dir := t.TempDir()
	helper := filepath.Join(dir, "qemu-bridge-helper")
	if err := os.WriteFile(helper, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckBridgeHelper(helper, 0); err != nil {
		t.Errorf("root needs no setuid: %v", err)
	}
	// A test cannot make a setuid root file without root, so only the
	// refusal is checked for an ordinary user.
	if err := CheckBridgeHelper(helper, 1000); err == nil || !strings.Contains(err.Error(), "chmod u+s "+helper) {
		t.Errorf("non-setuid helper for a user: %v", err)
	}
	if err := CheckBridgeHelper(filepath.Join(dir, "missing"), 0); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing helper: %v", err)
	}
	if err := CheckBridgeHelper("", 0); err == nil || !strings.Contains(err.Error(), "net_bridge_helper") {
		t.Errorf("no helper found: %v", err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckBridgeHelper(plain, 0); err == nil || !strings.Contains(err.Error(), "not an executable") {
		t.Errorf("non-executable helper: %v", err)
	}
	if got := FindBridgeHelper([]string{filepath.Join(dir, "missing"), dir, helper, plain}); got != helper {
		t.Errorf("FindBridgeHelper = %q, want the first existing file %q", got, helper)
	}
}

func TestRandomMAC(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		mac := RandomMAC()
		hw, err := net.ParseMAC(mac)
		if err != nil || !strings.HasPrefix(mac, "52:54:00:") {
			t.Fatalf("%q is not in QEMU's range: %v", mac, err)
		}
		if err := CheckMAC(mac); err != nil || hw[0]&2 == 0 {
			t.Fatalf("%q is not a locally administered unicast address: %v", mac, err)
		}
		seen[mac] = true
	}
	if len(seen) < 15 {
		t.Errorf("only %d different addresses in 20", len(seen))
	}
}

// The real QEMU and helper on a bridge that does not exist: whatever the
// host's ACL says (no file, no line for the bridge, or allowed and then no
// such bridge), QEMU fails to start and the failure is recognised.
func TestBridgeFailure_realQEMU(t *testing.T) {
	helper := FindBridgeHelper(DefaultBridgeHelpers)
	qemuBin, err := exec.LookPath("qemu-system-x86_64")
	if helper == "" || err != nil {
		t.Skip("QEMU or its bridge helper is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, qemuBin, "-nodefaults", "-display", "none", "-machine", "none",
		"-netdev", "bridge,id=net0,br=pkr-nosuch0,helper="+helper).CombinedOutput()
	if err == nil {
		t.Fatalf("QEMU started on a bridge that does not exist: %s", out)
	}
	got := BridgeFailure(errors.New("QEMU exited at start: "+err.Error()+": "+string(out)), "pkr-nosuch0", helper)
	if got == nil {
		t.Fatalf("not recognised as a bridge failure: %s", out)
	}
	if strings.Contains(string(out), "acl file") && !strings.Contains(got.Error(), "`allow pkr-nosuch0` to /etc/qemu/bridge.conf") {
		t.Errorf("an ACL refusal without the line to add: %v", got)
	}
	t.Logf("QEMU said %q; the build says %v", out, got)
}

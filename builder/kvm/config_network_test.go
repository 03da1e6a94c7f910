package kvm

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigNetwork_bridgeDefaults(t *testing.T) {
	c, _, err := prepare(t, map[string]interface{}{"net_bridge": "br0"})
	if err != nil {
		t.Fatal(err)
	}
	mac, err := net.ParseMAC(c.MACAddress)
	if err != nil || !strings.HasPrefix(c.MACAddress, "52:54:00:") || mac[0]&3 != 2 {
		t.Fatalf("generated MAC %q is not a locally administered unicast address in QEMU's range", c.MACAddress)
	}
	if c.addressTimeout() != 5*time.Minute {
		t.Errorf("address timeout %s, want 5m", c.addressTimeout())
	}
	if !c.httpOnBridge {
		t.Error("the HTTP server would not listen on the bridge")
	}
	other, _, _ := prepare(t, map[string]interface{}{"net_bridge": "br0"})
	if other.MACAddress == c.MACAddress {
		t.Errorf("two builds got the same MAC %s", c.MACAddress)
	}
	hw := c.hardware()
	if hw.Bridge != "br0" || hw.BridgeHelper != c.NetBridgeHelper || hw.MACAddress != c.MACAddress {
		t.Errorf("hardware %+v does not carry the bridge", hw)
	}
}

func TestConfigNetwork_bridgeHonoursTheUsersChoices(t *testing.T) {
	c, _, err := prepare(t, map[string]interface{}{
		"net_bridge": "br0", "mac_address": "52:54:00:aa:bb:cc", "net_bridge_helper": "/opt/qemu/helper",
		"net_bridge_address_timeout": "90s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.MACAddress != "52:54:00:aa:bb:cc" || c.NetBridgeHelper != "/opt/qemu/helper" || c.addressTimeout() != 90*time.Second {
		t.Errorf("got MAC %q, helper %q, timeout %s", c.MACAddress, c.NetBridgeHelper, c.addressTimeout())
	}
}

func TestConfigNetwork_userNetworkLeavesTheMAC(t *testing.T) {
	c, _, err := prepare(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.MACAddress != "" || c.NetBridgeHelper != "" {
		t.Errorf("user network got MAC %q, helper %q", c.MACAddress, c.NetBridgeHelper)
	}
}

func TestConfigNetwork_invalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"warm start", map[string]interface{}{"net_bridge": "br0", "warm_start": true}, "warm_start does not work with net_bridge"},
		{"helper alone", map[string]interface{}{"net_bridge_helper": "/usr/lib/qemu/qemu-bridge-helper"}, "net_bridge_helper only applies with net_bridge"},
		{"timeout alone", map[string]interface{}{"net_bridge_address_timeout": "1m"}, "net_bridge_address_timeout only applies with net_bridge"},
		{"negative timeout", map[string]interface{}{"net_bridge": "br0", "net_bridge_address_timeout": "-1m"}, "net_bridge_address_timeout is negative"},
		{"not an interface name", map[string]interface{}{"net_bridge": "br0,helper=/bin/sh"}, "not a network interface name"},
		{"too long", map[string]interface{}{"net_bridge": "a-very-long-bridge-name"}, "at most 15 characters"},
		{"multicast MAC", map[string]interface{}{"net_bridge": "br0", "mac_address": "01:00:5e:00:00:01"}, "multicast"},
		{"http_directory missing", map[string]interface{}{"http_directory": filepath.Join(t.TempDir(), "nope")}, "http_directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := prepare(t, tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestConfigNetwork_nonLinuxHostRefused(t *testing.T) {
	c, _, err := prepare(t, map[string]interface{}{"net_bridge": "br0"})
	if err != nil {
		t.Fatal(err)
	}
	c.hostOS = "darwin"
	errs := c.validateNetwork()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "needs a Linux host") {
		t.Fatalf("darwin: %v", errs)
	}
}

func TestConfigNetwork_unknownBridgePassesValidate(t *testing.T) {
	if _, _, err := prepare(t, map[string]interface{}{"net_bridge": "<unknown>", "mac_address": "<unknown>"}); err != nil {
		t.Fatalf("unknown values rejected at validate time: %v", err)
	}
}

// A cloud-image build may serve files to its provisioners: on the
// loopback, which the guest on the user network reaches at 10.0.2.2.
func TestConfigNetwork_cloudImageBuildServesHTTP(t *testing.T) {
	dir := t.TempDir()
	c, _, err := prepare(t, map[string]interface{}{"http_directory": dir})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPConfig.HTTPAddress != "127.0.0.1" || c.HTTPConfig.HTTPPortMin == 0 {
		t.Errorf("HTTP server on %q, ports from %d", c.HTTPConfig.HTTPAddress, c.HTTPConfig.HTTPPortMin)
	}
	steps := builderSteps(t, map[string]interface{}{"http_directory": dir})
	http := indexOf(steps, "*kvm.stepHTTPServer")
	if http < 0 || http > indexOf(steps, "*kvm.stepPublishRuntimeData") {
		t.Fatalf("no HTTP server before build.HTTPIP is published: %v", stepTypes(steps))
	}
	if steps[http].(*stepHTTPServer).OnBridge {
		t.Error("the user network's HTTP server listens on a bridge")
	}
}

func TestBridgeSteps(t *testing.T) {
	steps := builderSteps(t, map[string]interface{}{"net_bridge": "br0", "http_directory": t.TempDir()})
	if _, ok := steps[0].(*stepCheckBridge); !ok {
		t.Fatalf("the bridge is not checked first: %v", stepTypes(steps))
	}
	if indexOf(steps, "*kvm.stepForwardSSHPort") >= 0 {
		t.Errorf("an SSH port is forwarded on a bridge: %v", stepTypes(steps))
	}
	find, wait := indexOf(steps, "*kvm.stepFindGuestAddress"), indexOf(steps, "*kvm.stepWaitForSSH")
	if find < 0 || find+1 != wait || find < indexOf(steps, "*kvm.stepRunVM") {
		t.Fatalf("the address is not found between the VM's start and the SSH wait: %v", stepTypes(steps))
	}
	if steps[find].(*stepFindGuestAddress).ProgressTimeout <= 0 {
		t.Error("a silent boot is not watched while the address is searched")
	}
	check := steps[0].(*stepCheckBridge)
	if check.SSHPort != 22 || !check.HTTPServer || check.HTTPBindAddress != "" {
		t.Errorf("check step %+v", check)
	}
	if !steps[indexOf(steps, "*kvm.stepHTTPServer")].(*stepHTTPServer).OnBridge {
		t.Error("the HTTP server does not listen on the bridge")
	}

	// The user's http_bind_address stays the user's.
	steps = builderSteps(t, map[string]interface{}{"net_bridge": "br0", "http_directory": t.TempDir(), "http_bind_address": "10.1.2.3"})
	if steps[indexOf(steps, "*kvm.stepHTTPServer")].(*stepHTTPServer).OnBridge || steps[0].(*stepCheckBridge).HTTPBindAddress != "10.1.2.3" {
		t.Error("http_bind_address was overridden by the bridge's address")
	}

	// Installer builds look for the address as long as they wait for SSH.
	iso := isoConfig(t)
	iso["net_bridge"] = "br0"
	steps = builderSteps(t, iso)
	find = indexOf(steps, "*kvm.stepFindGuestAddress")
	if find < 0 || find < indexOf(steps, "*kvm.stepTypeBootCommand") || steps[find].(*stepFindGuestAddress).Timeout != 10*time.Minute {
		t.Fatalf("installer on a bridge: %v", stepTypes(steps))
	}
	if steps[find].(*stepFindGuestAddress).ProgressTimeout != 0 {
		t.Error("an installer's silent serial console would fail the search")
	}
}

package qemu

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// DefaultBridgeHelpers are where distributions install qemu-bridge-helper:
// Debian and Ubuntu, Fedora and RHEL, and Arch and a plain `make install`
// with --libexecdir=/usr/lib.
var DefaultBridgeHelpers = []string{
	"/usr/lib/qemu/qemu-bridge-helper",
	"/usr/libexec/qemu-bridge-helper",
	"/usr/lib/qemu-bridge-helper",
}

// BridgeACLFile is where qemu-bridge-helper reads which bridges it may
// attach to (compiled in as CONFIG_QEMU_CONFDIR "/bridge.conf").
const BridgeACLFile = "/etc/qemu/bridge.conf"

// FindBridgeHelper is the first of candidates that exists, or "".
func FindBridgeHelper(candidates []string) string {
	for _, c := range candidates {
		if info, err := os.Stat(c); err == nil && info.Mode().IsRegular() {
			return c
		}
	}
	return ""
}

// CheckBridge checks that bridge is a bridge device of this host (a
// `bridge` directory in its sysfs entry under sysClassNet, normally
// /sys/class/net).
func CheckBridge(sysClassNet, bridge string) error {
	if _, err := os.Stat(filepath.Join(sysClassNet, bridge)); err != nil {
		return fmt.Errorf("net_bridge %q: there is no network device of that name on this host: create the bridge (such as `ip link add %s type bridge && ip link set %s up`) or check the name (`ip -br link show type bridge` lists the bridges)", bridge, bridge, bridge)
	}
	if _, err := os.Stat(filepath.Join(sysClassNet, bridge, "bridge")); err != nil {
		return fmt.Errorf("net_bridge %q is a network device but not a bridge: name a bridge (`ip -br link show type bridge` lists them) or create one with `ip link add <name> type bridge`", bridge)
	}
	return nil
}

// CheckBridgeHelper checks that helper can create the guest's tap device
// for a process of effective user euid: it exists, is executable and, for
// anyone but root, is setuid root (it needs CAP_NET_ADMIN).
func CheckBridgeHelper(helper string, euid int) error {
	if helper == "" {
		return fmt.Errorf("qemu-bridge-helper is not installed in any of %s: install QEMU's bridge helper (Debian and Ubuntu: qemu-system-common; Fedora: qemu-common) or give its path in net_bridge_helper", strings.Join(DefaultBridgeHelpers, ", "))
	}
	info, err := os.Stat(helper)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("net_bridge_helper %q does not exist: install QEMU's bridge helper or correct the path", helper)
	case err != nil:
		return fmt.Errorf("net_bridge_helper: %w", err)
	case !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("net_bridge_helper %q is not an executable file", helper)
	}
	if euid == 0 {
		return nil
	}
	if info.Mode()&fs.ModeSetuid == 0 || !ownedByRoot(info) {
		return fmt.Errorf("net_bridge_helper %s is not setuid root, so it cannot create the guest's network device when the build does not run as root: `sudo chmod u+s %s` (on Debian and Ubuntu, to survive upgrades: `sudo dpkg-statoverride --update --add root root 4755 %s`)", helper, helper, helper)
	}
	return nil
}

// bridgeACLSigns are what qemu-bridge-helper prints (qemu-bridge-helper.c)
// when its ACL file keeps it from the bridge: the file is missing or
// unreadable, or no line allows the bridge.
var bridgeACLSigns = []string{"failed to parse default acl file", "access denied by acl file"}

// BridgeFailure turns QEMU failing to start on bridge (err, which carries
// QEMU's standard error) into an error that names the fix, or returns nil
// when the failure is not the bridge helper's.
func BridgeFailure(err error, bridge, helper string) error {
	if err == nil || bridge == "" {
		return nil
	}
	msg := err.Error()
	for _, sign := range bridgeACLSigns {
		if strings.Contains(msg, sign) {
			return fmt.Errorf("qemu-bridge-helper may not attach to bridge %q: add the line `allow %s` to %s (create the file, readable by the helper, if it does not exist; `allow all` allows every bridge): %w", bridge, bridge, BridgeACLFile, err)
		}
	}
	switch {
	case strings.Contains(msg, "failed to create tun device"), strings.Contains(msg, "failed to open /dev/net/tun"):
		return fmt.Errorf("qemu-bridge-helper %s could not create the guest's tap device: it needs to be setuid root (`sudo chmod u+s %s`) and /dev/net/tun must exist: %w", helper, helper, err)
	case strings.Contains(msg, "failed to add interface"):
		return fmt.Errorf("qemu-bridge-helper could not add the guest's tap device to bridge %q (is it a bridge, and up?): %w", bridge, err)
	case strings.Contains(msg, "bridge helper failed"):
		return fmt.Errorf("QEMU's bridge helper %s failed to attach the guest to bridge %q: check that the helper is setuid root and that %s has the line `allow %s`: %w", helper, bridge, BridgeACLFile, bridge, err)
	}
	return nil
}

// RandomMAC is a random unicast MAC address in QEMU's own range,
// 52:54:00:xx:xx:xx (locally administered), for a guest that has to be
// found on a bridge by its address.
func RandomMAC() string {
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0, 0, 0}
	_, _ = rand.Read(mac[3:]) // never fails (crypto/rand)
	return mac.String()
}

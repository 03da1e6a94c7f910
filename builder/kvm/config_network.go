//go:generate packer-sdc struct-markdown

package kvm

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// BridgeConfig puts the guest on a host bridge instead of QEMU's user
// network.
type BridgeConfig struct {
	// A host bridge to attach the guest's network card to, such as `br0`,
	// instead of QEMU's user network (whose SSH forward binds 127.0.0.1).
	// QEMU attaches it through `qemu-bridge-helper`, so a build need not run
	// as root: the helper must be setuid root and allowed the bridge by a
	// line `allow br0` in `/etc/qemu/bridge.conf`. The guest then gets its
	// address on the bridge's network (by DHCP, typically); the builder
	// finds it by the card's MAC address (`mac_address`, or a random
	// `52:54:00:xx:xx:xx` one it logs) and connects SSH to it on
	// `ssh_port`, unless `ssh_host` names the address. `{{ .HTTPIP }}` is
	// then the host's first IPv4 address on the bridge, where the HTTP
	// server listens. Linux only; `warm_start` does not combine with it.
	NetBridge string `mapstructure:"net_bridge"`
	// Path of QEMU's bridge helper. Defaults to the first that exists of
	// `/usr/lib/qemu/qemu-bridge-helper` (Debian, Ubuntu),
	// `/usr/libexec/qemu-bridge-helper` (Fedora, RHEL) and
	// `/usr/lib/qemu-bridge-helper`.
	NetBridgeHelper string `mapstructure:"net_bridge_helper"`
	// How long the builder looks for the guest's address on `net_bridge`
	// after QEMU starts (in the host's neighbour table, then in dnsmasq's
	// and libvirt's DHCP lease files) before the build fails. Defaults to
	// `5m`, or `ssh_timeout` for an installer build (iso_url), whose guest
	// may need the network only once the installed system boots.
	NetBridgeAddressTimeout time.Duration `mapstructure:"net_bridge_address_timeout"`
}

// defaultBridgeAddressTimeout covers a slow boot under TCG and a DHCP
// client's first retries.
const defaultBridgeAddressTimeout = 5 * time.Minute

// applyNetworkDefaults fills the bridge's defaults: the helper found on
// this host, the address timeout, and a MAC the builder knows, since it
// finds the guest by it.
func (c *Config) applyNetworkDefaults() {
	if c.NetBridge == "" {
		return
	}
	if c.NetBridgeHelper == "" {
		c.NetBridgeHelper = qemu.FindBridgeHelper(qemu.DefaultBridgeHelpers)
	}
	if c.MACAddress == "" {
		c.MACAddress = qemu.RandomMAC()
	}
	// Set before applyInstallerDefaults fills in the loopback.
	c.httpOnBridge = c.HTTPConfig.HTTPAddress == "" && c.HTTPConfig.HTTPInterface == ""
}

// addressTimeout is how long stepFindGuestAddress looks: an installer's
// guest may get its address only once the installed system boots, so its
// default is ssh_timeout.
func (c *Config) addressTimeout() time.Duration {
	if c.NetBridgeAddressTimeout != 0 {
		return c.NetBridgeAddressTimeout
	}
	if c.installer {
		return c.Comm.SSHTimeout
	}
	return defaultBridgeAddressTimeout
}

func (c *Config) hostGOOS() string { return cmp.Or(c.hostOS, runtime.GOOS) }

// resolveCloudHTTP prepares a cloud-image build's HTTP server options
// (resolveInstaller prepares an installer build's): files for
// provisioners to fetch, at build.HTTPIP and build.HTTPPort.
func (c *Config) resolveCloudHTTP() []error {
	if c.installer {
		return nil
	}
	if c.HTTPConfig.HTTPAddress == "" && c.HTTPConfig.HTTPInterface == "" {
		// The guest on the user network reaches the host's loopback at
		// 10.0.2.2.
		c.HTTPConfig.HTTPAddress = "127.0.0.1"
	}
	errs := validate.PrefixErrors("http", c.HTTPConfig.Prepare(&c.ctx))
	return appendIfErr(errs, c.validateHTTPDirectory())
}

// validateNetwork checks net_bridge's name and the options it excludes.
// The bridge and the helper themselves are checked when the build runs
// (stepCheckBridge): `packer validate` may run on another host.
func (c *Config) validateNetwork() []error {
	if c.NetBridge == "" {
		var errs []error
		if c.NetBridgeHelper != "" {
			errs = append(errs, errors.New("net_bridge_helper only applies with net_bridge: set net_bridge or remove net_bridge_helper"))
		}
		if c.NetBridgeAddressTimeout != 0 {
			errs = append(errs, errors.New("net_bridge_address_timeout only applies with net_bridge: set net_bridge or remove net_bridge_address_timeout"))
		}
		return errs
	}
	if validate.IsUnknown(c.NetBridge) {
		return nil
	}
	var errs []error
	if len(c.NetBridge) > 15 || strings.ContainsAny(c.NetBridge, "/ \t\n,=:") {
		errs = append(errs, fmt.Errorf("net_bridge %q is not a network interface name: Linux names have at most 15 characters and no '/', ',', ':', '=' or spaces", c.NetBridge))
	}
	if c.WarmStart {
		errs = append(errs, errors.New("warm_start does not work with net_bridge: a resumed guest keeps the address it had on the saved network; remove one of them"))
	}
	if c.hostGOOS() != "linux" {
		errs = append(errs, fmt.Errorf("net_bridge needs a Linux host (qemu-bridge-helper and Linux bridges); this host runs %s: remove net_bridge", c.hostGOOS()))
	}
	return errs
}

// validateHTTPDirectory checks that http_directory is a directory, for
// the builds that serve it.
func (c *Config) validateHTTPDirectory() error {
	dir := c.HTTPConfig.HTTPDir
	if dir == "" || validate.IsUnknown(dir) {
		return nil
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("http_directory: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("http_directory %q is not a directory", dir)
	}
	return nil
}

package kvm

import (
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
)

// httpServer serves http_directory or http_content to the guest (the
// SDK's step does nothing when neither is set): an installer fetches its
// preseed or kickstart there, a provisioner whatever it needs at
// build.HTTPIP and build.HTTPPort.
func (b *Builder) httpServer() multistep.Step {
	c := &b.config
	return &stepHTTPServer{Server: commonsteps.HTTPServerFromHTTPConfig(&c.HTTPConfig), OnBridge: c.NetBridge != "" && c.httpOnBridge}
}

// bridgeSteps turns the steps of a build on QEMU's user network into one
// on net_bridge: the host is checked first (before any download), no SSH
// port is forwarded, and once the guest runs its address is found, which
// SSH then connects to on ssh_port.
func (b *Builder) bridgeSteps(steps []multistep.Step) []multistep.Step {
	c := &b.config
	out := []multistep.Step{&stepCheckBridge{
		Bridge: c.NetBridge, Helper: c.NetBridgeHelper, MAC: c.MACAddress, SSHPort: c.Comm.SSHPort,
		HTTPServer:      c.HTTPConfig.HTTPDir != "" || len(c.HTTPConfig.HTTPContent) > 0,
		HTTPBindAddress: bindAddressUnlessBridge(c),
	}}
	for _, step := range steps {
		switch step.(type) {
		case *stepForwardSSHPort:
			// SSH goes to the guest's own address.
		case *stepWaitForSSH:
			find := &stepFindGuestAddress{
				Bridge: c.NetBridge, MAC: c.MACAddress, SSHHost: c.Comm.SSHHost, Timeout: c.addressTimeout(),
			}
			if !c.installer {
				// Installers may print nothing on the serial console;
				// stepWaitForSSH watches their screen and disks instead.
				find.ProgressTimeout = c.bootProgressTimeout
			}
			out = append(out, find, step)
		default:
			out = append(out, step)
		}
	}
	return out
}

// bindAddressUnlessBridge is the user's http_bind_address, or "" when the
// HTTP server is to listen on the bridge.
func bindAddressUnlessBridge(c *Config) string {
	if c.httpOnBridge {
		return ""
	}
	return c.HTTPConfig.HTTPAddress
}

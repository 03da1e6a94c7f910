package kvm

import "github.com/hashicorp/packer-plugin-sdk/multistep"

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

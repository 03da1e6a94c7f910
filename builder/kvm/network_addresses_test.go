package kvm

import "testing"

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

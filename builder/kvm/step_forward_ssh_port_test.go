package kvm

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepForwardSSHPort_reservesDistinctLoopbackPorts(t *testing.T) {
	var steps []*stepForwardSSHPort
	ports := map[int]bool{}
	for i := 0; i < 3; i++ {
		state, _ := testState(t)
		step := &stepForwardSSHPort{MinPort: 2222, MaxPort: 4444}
		if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
			t.Fatalf("halted: %v", stateErr(state))
		}
		steps = append(steps, step)
		port := keySSHHostPort.Get(state)
		if port < 2222 || port >= 4444 || ports[port] {
			t.Fatalf("port %d out of range or reused: %v", port, ports)
		}
		ports[port] = true
		// The port is free for QEMU to bind while the lock is held.
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d is not free for QEMU: %v", port, err)
		}
		l.Close()
	}
	for _, s := range steps {
		s.Cleanup(nil)
	}
}

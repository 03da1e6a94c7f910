// Package sshprobetest is a stand-in for a guest's forwarded SSH port, for
// the tests of the packages that probe it.
package sshprobetest

import (
	"net"
	"testing"
	"time"
)

// Listen listens on 127.0.0.1 and answers each connection with banner, or
// with nothing when banner is empty (like QEMU's user network forwarding
// to a guest whose sshd is not up yet), then holds it open for hold before
// closing it. It returns the port; the listener closes with the test.
func Listen(t testing.TB, banner string, hold time.Duration) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			if banner != "" {
				_, _ = conn.Write([]byte(banner))
			}
			go func() { time.Sleep(hold); conn.Close() }()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

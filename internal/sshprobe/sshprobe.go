// Package sshprobe tells whether an SSH server, not just any listener,
// answers on a forwarded local port.
package sshprobe

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"time"
)

// Banner reports whether sshd answers on the local port with its banner
// within timeout: QEMU's user network accepts connections on a forwarded
// port before anything in the guest listens.
func Banner(port int, timeout time.Duration) bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4)
	n, _ := io.ReadFull(conn, buf)
	return bytes.Equal(buf[:n], []byte("SSH-"))
}

// Package sshprobe tells whether an SSH server, not just any listener,
// answers on a forwarded local port (or on a bridged guest's address).
package sshprobe

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"time"
)

// Banner reports whether sshd answers on the local port with its banner
// within timeout: QEMU's user network accepts connections on a forwarded
// port before anything in the guest listens.
func Banner(port int, timeout time.Duration) bool {
	return BannerAt("127.0.0.1", port, timeout)
}

// BannerAt is Banner for sshd on host.
func BannerAt(host string, port int, timeout time.Duration) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4)
	n, _ := io.ReadFull(conn, buf)
	return bytes.Equal(buf[:n], []byte("SSH-"))
}

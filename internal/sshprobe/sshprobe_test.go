package sshprobe

import (
	"net"
	"testing"
	"time"
)

func listen(t *testing.T, banner string) int {
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
			_, _ = conn.Write([]byte(banner))
			time.Sleep(200 * time.Millisecond)
			conn.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func TestBanner(t *testing.T) {
	if !Banner(listen(t, "SSH-2.0-OpenSSH_9.2\r\n"), time.Second) {
		t.Fatal("sshd's banner not recognised")
	}
	if Banner(listen(t, ""), 100*time.Millisecond) {
		t.Fatal("a silent listener taken for sshd")
	}
	if Banner(listen(t, "HTTP/1.1 400"), time.Second) {
		t.Fatal("another server taken for sshd")
	}
}

func TestBannerAt(t *testing.T) {
	if !BannerAt("127.0.0.1", listen(t, "SSH-2.0-OpenSSH_9.2\r\n"), time.Second) {
		t.Fatal("sshd's banner not recognised at an explicit host")
	}
	if BannerAt("127.0.0.1", listen(t, "HTTP/1.1 400\r\n"), time.Second) {
		t.Fatal("a non-SSH server taken for sshd")
	}
}

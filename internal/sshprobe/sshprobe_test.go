package sshprobe

import (
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/sshprobe/sshprobetest"
)

func listen(t *testing.T, banner string) int {
	return sshprobetest.Listen(t, banner, 200*time.Millisecond)
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

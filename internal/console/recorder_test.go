package console

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// unixPair is a connected pair of unix stream sockets, the plugin's end
// and QEMU's, with the kernel's buffering between them as in a build.
func unixPair(t *testing.T) (plugin, qemu net.Conn) {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "serial.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	plugin, err = net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	qemu = <-accepted
	if qemu == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { plugin.Close(); qemu.Close() })
	return plugin, qemu
}

// Everything the guest writes reaches the log byte for byte, however much
// and however it is cut, while keys go the other way on the same socket.
func TestRecorder_logsEveryByteAndCarriesKeys(t *testing.T) {
	plugin, qemu := unixPair(t)
	logPath := filepath.Join(t.TempDir(), "serial.log")
	if err := os.WriteFile(logPath, []byte("a previous run's console"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := Record(plugin, logPath)
	if err != nil {
		t.Fatal(err)
	}
	var guest bytes.Buffer
	for i := 0; i < 20000; i++ {
		guest.WriteString("\x1b[5;3H*Install Debian (kvm builder fixture)\r\n")
	}
	written := make(chan error, 1)
	go func() {
		// A UART writes a byte or a few at a time.
		data := guest.Bytes()
		for len(data) > 0 {
			n := min(len(data), 1+len(data)%7)
			if _, err := qemu.Write(data[:n]); err != nil {
				written <- err
				return
			}
			data = data[n:]
		}
		written <- nil
	}()
	if _, err := rec.Write([]byte("e\r")); err != nil {
		t.Fatal(err)
	}
	typed := make([]byte, 2)
	if _, err := io.ReadFull(qemu, typed); err != nil || string(typed) != "e\r" {
		t.Fatalf("the guest read %q, %v; want the typed keys", typed, err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	qemu.Close() // the VM exits
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, guest.Bytes()) {
		t.Fatalf("the log has %d bytes, want the guest's %d exactly", len(got), guest.Len())
	}
	info, err := os.Stat(logPath)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("log mode %v, %v; want 0600", info.Mode(), err)
	}
}

// Close while the VM still runs ends the recording at once.
func TestRecorder_closeWhileTheVMRuns(t *testing.T) {
	plugin, qemu := unixPair(t)
	rec, err := Record(plugin, filepath.Join(t.TempDir(), "serial.log"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := qemu.Write([]byte("login: ")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rec.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while the VM was running")
	}
}

// A log that cannot be created is an error naming the serial log.
func TestRecorder_unwritableLog(t *testing.T) {
	plugin, _ := unixPair(t)
	_, err := Record(plugin, filepath.Join(t.TempDir(), "missing", "serial.log"))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("serial log")) {
		t.Fatalf("got %v, want an error naming the serial log", err)
	}
}

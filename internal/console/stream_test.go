package console

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// What GRUB's menu looks like on a serial console (terminfo vt100): a
// cleared screen, the entries drawn at cursor positions, reverse video.
const grubMenu = "\x1b[2J\x1b[1;1H\x1b[0mGNU GRUB  version 2.06\x1b[3;2H\x1b[7m*Install Debian (kvm builder fixture)\x1b[0m\x1b[4;2H Rescue\r\n"

func TestStream_dropsControlSequencesSplitAnywhere(t *testing.T) {
	want := new(Stream).Write([]byte(grubMenu))
	if !strings.Contains(want, "*Install Debian (kvm builder fixture)\n Rescue") || strings.ContainsAny(want, "\x1b[") {
		t.Fatalf("cleaned: %q", want)
	}
	for cut := 0; cut <= len(grubMenu); cut++ {
		var s Stream
		got := s.Write([]byte(grubMenu[:cut])) + s.Write([]byte(grubMenu[cut:]))
		if got != want {
			t.Fatalf("cut at %d: %q, want %q", cut, got, want)
		}
	}
}

func TestStream_keepsACutCharacterAndOSC(t *testing.T) {
	var s Stream
	in := "é\x1b]0;title\a ok \u00e9"
	var got string
	for i := 0; i < len(in); i++ {
		got += s.Write([]byte{in[i]})
	}
	if got != "é ok é" {
		t.Fatalf("%q", got)
	}
}

// appendTo writes text to the log at path, as QEMU does, after delay.
func appendTo(t *testing.T, path string, delay time.Duration, text string) {
	t.Helper()
	go func() {
		time.Sleep(delay)
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return
		}
		f.WriteString(text)
		f.Close()
	}()
}

func TestFollower_waitsForTextWrittenLaterAndConsumesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serial.log")
	f := &Follower{Path: path, Interval: 5 * time.Millisecond}
	defer f.Close()
	appendTo(t, path, 30*time.Millisecond, grubMenu[:40])
	appendTo(t, path, 60*time.Millisecond, grubMenu[40:]+"boot: \x1b[1")
	appendTo(t, path, 90*time.Millisecond, "mboot: ")
	ctx := context.Background()
	if err := f.Wait(ctx, regexp.MustCompile(`\*Install Debian`), time.Second, nil); err != nil {
		t.Fatal(err)
	}
	// Two prompts in one burst: each wait matches one of them.
	boot := regexp.MustCompile(`boot: `)
	if err := f.Wait(ctx, boot, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Wait(ctx, boot, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	// The text before the last match is used up.
	if err := f.Wait(ctx, regexp.MustCompile(`Install|boot`), 50*time.Millisecond, nil); !errors.Is(err, ErrNoMatch) {
		t.Fatalf("a third match of consumed text: %v", err)
	}
}

func TestFollower_stopsOnCancelAndOnAStoppedVM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(path, []byte("booting\n"), 0o600)
	f := &Follower{Path: path, Interval: 5 * time.Millisecond}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := f.Wait(ctx, regexp.MustCompile("login:"), time.Minute, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
	stop := make(chan struct{})
	appendTo(t, path, 10*time.Millisecond, "panic\n")
	time.AfterFunc(20*time.Millisecond, func() { close(stop) })
	if err := f.Wait(context.Background(), regexp.MustCompile("login:"), time.Minute, stop); !errors.Is(err, ErrStopped) {
		t.Fatalf("after the VM stopped: %v", err)
	}
}

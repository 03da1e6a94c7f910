package vmwatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBootProgress_aSilentConsoleFailsAfterTheTimeout(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(log, nil, 0o644)
	p := NewBootProgress(SerialLog{Path: log}, nil, 0)
	if err := p.Check(context.Background(), time.Hour); err != nil {
		t.Fatalf("failed before the timeout: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	err := p.Check(context.Background(), 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "printed nothing on its serial console") || !strings.Contains(err.Error(), "it is not booting") {
		t.Fatalf("want a silent-boot failure, got %v", err)
	}
}

// Printing restarts the count; a console that printed and fell silent is
// described as silent, with its tail.
func TestBootProgress_printingRestartsTheCount(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	p := NewBootProgress(SerialLog{Path: log}, nil, 0)
	time.Sleep(50 * time.Millisecond)
	os.WriteFile(log, []byte("Booting the kernel\n"), 0o644)
	if err := p.Check(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatalf("a console that just printed failed: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	err := p.Check(context.Background(), 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "has been silent for") || !strings.Contains(err.Error(), "Booting the kernel") {
		t.Fatalf("want a silence failure with the tail, got %v", err)
	}
}

func TestBootProgress_aZeroTimeoutDisablesIt(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(log, nil, 0o644)
	p := NewBootProgress(SerialLog{Path: log}, nil, 0)
	time.Sleep(10 * time.Millisecond)
	if err := p.Check(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

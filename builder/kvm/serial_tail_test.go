package kvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The default log goes away with the work directory: the tail says how to
// keep it; a serial_log_file is named.
func TestSerialTail_saysWhereTheLogIs(t *testing.T) {
	work := filepath.Join(t.TempDir(), workDirPrefix+"123")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(work, "serial.log")
	if err := os.WriteFile(log, []byte("kernel panic\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tail := serialTail(log, 30); strings.Contains(tail, log) || !strings.Contains(tail, "set serial_log_file to keep it") {
		t.Fatalf("the tail names a log the build removes, or not how to keep it:\n%s", tail)
	}
	kept := filepath.Join(t.TempDir(), "console.log")
	if err := os.WriteFile(kept, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tail := serialTail(kept, 2); tail != "\nLast 2 lines of the serial console (the whole log is "+kept+"):\nb\nc" {
		t.Fatalf("a serial_log_file's tail: %q", tail)
	}
}

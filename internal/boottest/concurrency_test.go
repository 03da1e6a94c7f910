package boottest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestConcurrency(t *testing.T) {
	cases := []struct {
		cores     int
		available int64
		guest     int
		want      int
	}{
		{2, 24000, 1024, 2}, // cores bound it
		{16, 4000, 1024, 3}, // memory bounds it: 3 × (1024+256) MiB
		{8, 500, 1024, 1},   // never fewer than one
		{4, -1, 1024, 4},    // unknown memory: the cores
		{1, 100000, 512, 1},
	}
	for _, c := range cases {
		if got := Concurrency(c.cores, c.available, c.guest); got != c.want {
			t.Errorf("Concurrency(%d, %d, %d) = %d, want %d", c.cores, c.available, c.guest, got, c.want)
		}
	}
}

func TestAvailableMemoryMiB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(path, []byte("MemTotal:       24683520 kB\nMemFree:        21817344 kB\nMemAvailable:   24137728 kB\n"), 0o644)
	if got := availableMemoryMiB(path); got != 23572 {
		t.Errorf("availableMemoryMiB = %d, want 23572", got)
	}
	if got := availableMemoryMiB(filepath.Join(t.TempDir(), "none")); got != -1 {
		t.Errorf("a missing file: %d, want -1", got)
	}
}

package imageout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A failed additional disk leaves no temporary file and no image behind.
func TestSetWrite_aFailureLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "disk.qcow2")
	os.WriteFile(src, []byte("overlay"), 0o644)
	set := Set{Dir: dir, Format: "qcow2",
		Convert:    func(context.Context, string, string, string, string) error { return errors.New("no space left") },
		Main:       Image{Source: src, Name: "golden", Label: "the image", Move: true},
		Additional: []Image{{Source: src, Name: "golden-data", Label: `additional disk "data"`}},
	}
	if _, _, err := set.Write(context.Background()); err == nil || err.Error() != `writing additional disk "data": no space left` {
		t.Fatalf("Write: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

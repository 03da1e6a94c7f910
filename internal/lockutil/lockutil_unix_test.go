//go:build !windows

package lockutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTryLock_aSecondHolderIsRefusedUntilTheFirstCloses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	first, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := TryLock(first); err != nil {
		t.Fatal(err)
	}
	second, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := TryLock(second); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	first.Close()
	if err := TryLock(second); err != nil {
		t.Fatalf("lock after the first closed: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("lock file %v %v, want mode 0600", st, err)
	}
}

func TestOpenFile_refusesALinkAndAFileWithTwoLinks(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	symlink, hardlink := filepath.Join(dir, "sym.lock"), filepath.Join(dir, "hard.lock")
	os.Symlink(victim, symlink)
	os.Link(victim, hardlink)
	for _, path := range []string{symlink, hardlink} {
		if f, err := OpenFile(path); err == nil || !strings.Contains(err.Error(), path) {
			f.Close()
			t.Errorf("%s: %v, want it refused", path, err)
		}
	}
}

package fileutil

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSHA256(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("hello\n"), 0o644)
	sum, n, err := SHA256(path)
	want := sha256.Sum256([]byte("hello\n"))
	if err != nil || sum != hex.EncodeToString(want[:]) || n != 6 {
		t.Errorf("got %s %d %v", sum, n, err)
	}
	if _, _, err := SHA256(path + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want not exist", err)
	}
}

func TestCopyAndSHA256_copiesWithTheModeAndSumsWhatItWrote(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.WriteFile(src, []byte("hello\n"), 0o644)
	sum, err := CopyAndSHA256(src, dst, 0o600)
	want := sha256.Sum256([]byte("hello\n"))
	if err != nil || sum != hex.EncodeToString(want[:]) {
		t.Fatalf("got %s %v", sum, err)
	}
	data, _ := os.ReadFile(dst)
	st, _ := os.Stat(dst)
	if string(data) != "hello\n" || st.Mode().Perm() != 0o600 {
		t.Fatalf("dst holds %q, mode %v", data, st.Mode().Perm())
	}
	if err := CopyFile(filepath.Join(dir, "gone"), dst, 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want not exist", err)
	}
}

func TestCopyFile_replacesTheContent(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.WriteFile(src, []byte("new"), 0o644)
	os.WriteFile(dst, []byte("older and longer"), 0o644)
	if err := CopyFile(src, dst, 0o600); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(dst); string(data) != "new" {
		t.Fatalf("dst holds %q", data)
	}
}

func TestExists(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "dangling")
	os.Symlink(filepath.Join(dir, "gone"), link)
	if !Exists(dir) || !Exists(link) || Exists(filepath.Join(dir, "gone")) {
		t.Fatal("Exists disagrees with Lstat")
	}
}

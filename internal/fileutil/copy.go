package fileutil

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// CopyFile copies src to dst, creating dst with mode perm (an existing
// dst keeps its mode) and syncing it before it returns.
func CopyFile(src, dst string, perm os.FileMode) error {
	return copyFile(src, dst, perm, io.Discard)
}

// CopyAndSHA256 is CopyFile that also returns the SHA-256, in lower-case
// hex, of what it wrote: one read of src for both.
func CopyAndSHA256(src, dst string, perm os.FileMode) (string, error) {
	h := sha256.New()
	if err := copyFile(src, dst, perm, h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// copyFile copies src to dst and every byte to tee as well.
func copyFile(src, dst string, perm os.FileMode, tee io.Writer) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.MultiWriter(out, tee), in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Exists reports whether anything (a file, a directory, a dangling link)
// is at path.
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

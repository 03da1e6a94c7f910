// Package fileutil holds the small file helpers the components share:
// atomic writes, copies, SHA-256 sums, private directories, removal of an
// artifact's files, and human-readable sizes.
package fileutil

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteAtomic writes data to a temporary file beside path, syncs it and
// renames it into place, so readers see the old file or the whole new one.
func WriteAtomic(path string, data []byte) error {
	return WriteAtomicPerm(path, data, 0o644)
}

// WriteAtomicPerm is WriteAtomic with the file's mode.
func WriteAtomicPerm(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// RemoveFiles deletes files, ignoring those already gone.
func RemoveFiles(files []string) error {
	for _, f := range files {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// HumanBytes formats a size in binary units, such as "2.1 GiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

package outputdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// IsLeftover tells the names a build writes in the output directory only
// while it runs: its work directory (named with workDirPrefix) and its
// temporary image (.<name>.tmp). Found in a claimed directory, they are a
// killed build's (SIGKILL, power loss): no other build can be using it.
func IsLeftover(name, workDirPrefix string) bool {
	return strings.HasPrefix(name, workDirPrefix) || strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
}

// RemoveLeftovers removes the leftovers (IsLeftover) in dir, calling
// removing with each name first, so that the user learns what went.
func RemoveLeftovers(dir, workDirPrefix string, removing func(name string)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output_directory: %w", err)
	}
	for _, e := range entries {
		if !IsLeftover(e.Name(), workDirPrefix) {
			continue
		}
		removing(e.Name())
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("removing a killed build's leftover: %w", err)
		}
	}
	return nil
}

// Empty removes everything in dir and keeps dir.
func Empty(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

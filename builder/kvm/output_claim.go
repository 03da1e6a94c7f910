package kvm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// outputClaim is a build's hold on its output directory: an exclusive
// flock(2) on a hidden lock file beside the directory, held from the start
// of the build to its end. The kernel drops the lock when the build's
// process dies, even by SIGKILL, so a lock that can be taken proves that
// no build is running there. The file is never deleted (deleting a lock
// file lets two processes lock two different inodes); it records the
// Packer run (PACKER_RUN_UUID) that last used the directory.
type outputClaim struct {
	Dir string
	// Suffix is what was appended to a default directory ("" or "-<n>").
	Suffix string
	lock   *os.File
}

// maxDefaultVariants bounds the search for a free default directory.
const maxDefaultVariants = 100

// claimOutputDir locks dir. With pickFree (the user left output_directory
// unset), a directory that another running build holds, or that another
// build of the same Packer run already wrote, is skipped for the next
// free dir-<n>: several sources renamed with `name` share their label, the
// only name a builder is given. Without pickFree such a directory is an
// error that names it.
func claimOutputDir(dir string, pickFree bool, runID string) (*outputClaim, error) {
	for n := 1; n <= maxDefaultVariants; n++ {
		suffix := ""
		if n > 1 {
			suffix = fmt.Sprintf("-%d", n)
		}
		candidate := dir + suffix
		lock, lastRun, err := lockOutputDir(candidate)
		if errors.Is(err, errLocked) {
			if !pickFree {
				return nil, fmt.Errorf("output_directory %s is in use by another running build (it holds %s): wait for it to finish or set another output_directory", dir, lockPath(dir))
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("locking output_directory %s: %w", candidate, err)
		}
		if pickFree && runID != "" && lastRun == runID && exists(candidate) {
			lock.Close()
			continue
		}
		if err := recordRun(lock, runID); err != nil {
			lock.Close()
			return nil, fmt.Errorf("locking output_directory %s: %w", candidate, err)
		}
		return &outputClaim{Dir: candidate, Suffix: suffix, lock: lock}, nil
	}
	return nil, fmt.Errorf("no free default output directory from %s to %s-%d: set output_directory", dir, dir, maxDefaultVariants)
}

// Release unlocks the directory.
func (c *outputClaim) Release() {
	if c != nil && c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}

// lockPath is the hidden lock file beside dir: .<name>.packer-kvm.lock.
func lockPath(dir string) string {
	clean := filepath.Clean(dir)
	return filepath.Join(filepath.Dir(clean), "."+filepath.Base(clean)+".packer-kvm.lock")
}

// lockOutputDir takes the lock of dir without waiting and returns the run
// recorded in it.
func lockOutputDir(dir string) (*os.File, string, error) {
	path := lockPath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, "", err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, "", err
	}
	if err := tryLockFile(f); err != nil {
		f.Close()
		return nil, "", err
	}
	data, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		f.Close()
		return nil, "", err
	}
	return f, strings.TrimSpace(string(data)), nil
}

func recordRun(f *os.File, runID string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(runID+"\n"), 0)
	return err
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

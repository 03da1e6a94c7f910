// Package outputdir claims a build's output directory: an exclusive lock
// (internal/lockutil), held for the whole build, that no other build of
// the user's can take at the same time; and clears what a killed build
// left in it (leftovers.go).
package outputdir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/lockutil"
)

// Claim is a build's hold on its output directory: an exclusive
// flock(2) on a lock file, held from the start of the build to its end.
// The kernel drops the lock when the build's process dies, even by
// SIGKILL, so a lock that can be taken proves that no build is running
// there. The file is never deleted (deleting a lock file lets two
// processes lock two different inodes); it records the Packer run
// (PACKER_RUN_UUID) that last used the directory.
//
// The lock files live in the building user's own cache directory
// (lockRoot), one per output directory, named by a hash of the
// directory's resolved path; not beside the output directory, where they
// cluttered the users' repositories and where another local user could
// plant a symlink for a root build to overwrite the file it points to.
// Builds of one user exclude each other; a build of another user into the
// same directory is not seen (its files are not writable to the first
// anyway, short of root). The file is opened without following a link and
// must be a regular file of the building user's with one link
// (lockutil.OpenFile).
type Claim struct {
	// Dir is the claimed directory.
	Dir string
	// Suffix is what was appended to a default directory ("" or "-<n>").
	Suffix string
	lock   *os.File
}

// maxDefaultVariants bounds the search for a free default directory.
const maxDefaultVariants = 100

// Acquire locks dir. With pickFree (the user left output_directory
// unset), a directory that another running build holds, or that another
// build of the same Packer run already wrote, is skipped for the next
// free dir-<n>: several sources renamed with `name` share their label, the
// only name a builder is given. Without pickFree such a directory is an
// error that names it.
func Acquire(dir string, pickFree bool, runID string) (*Claim, error) {
	for n := 1; n <= maxDefaultVariants; n++ {
		suffix := ""
		if n > 1 {
			suffix = fmt.Sprintf("-%d", n)
		}
		candidate := dir + suffix
		lock, lastRun, err := lockOutputDir(candidate)
		if errors.Is(err, lockutil.ErrLocked) {
			if !pickFree {
				return nil, fmt.Errorf("output_directory %s is in use by another running build (it holds %s): wait for it to finish or set another output_directory", dir, lockPath(dir))
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("locking output_directory %s: %w", candidate, err)
		}
		if pickFree && runID != "" && lastRun == runID && fileutil.Exists(candidate) {
			lock.Close()
			continue
		}
		if err := recordRun(lock, runID, candidate); err != nil {
			lock.Close()
			return nil, fmt.Errorf("locking output_directory %s: %w", candidate, err)
		}
		return &Claim{Dir: candidate, Suffix: suffix, lock: lock}, nil
	}
	return nil, fmt.Errorf("no free default output directory from %s to %s-%d: set output_directory", dir, dir, maxDefaultVariants)
}

// Release unlocks the directory.
func (c *Claim) Release() {
	if c != nil && c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}

// lockRoot is the directory of the output directories' lock files:
// packer-plugin-kvm/output-locks in the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache on Linux).
func lockRoot() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the output directory's lock (set HOME or XDG_CACHE_HOME): %w", err)
	}
	return filepath.Join(cache, "packer-plugin-kvm", "output-locks"), nil
}

// lockPath is dir's lock file: <lockRoot>/<hash of dir's resolved path>.lock.
func lockPath(dir string) string {
	root, err := lockRoot()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(resolvedDir(dir)))
	return filepath.Join(root, hex.EncodeToString(sum[:16])+".lock")
}

// resolvedDir is dir made absolute with the symbolic links of its longest
// existing part resolved, so that two spellings of one directory share a
// lock.
func resolvedDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	existing, rest := abs, ""
	for {
		if real, err := filepath.EvalSymlinks(existing); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return abs
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
}

// lockOutputDir takes the lock of dir without waiting and returns the run
// recorded in it.
func lockOutputDir(dir string) (*os.File, string, error) {
	root, err := lockRoot()
	if err != nil {
		return nil, "", err
	}
	if err := fileutil.PrivateDir(root); err != nil {
		return nil, "", err
	}
	f, err := lockutil.OpenFile(lockPath(dir))
	if err != nil {
		return nil, "", err
	}
	if err := lockutil.TryLock(f); err != nil {
		f.Close()
		return nil, "", err
	}
	data, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		f.Close()
		return nil, "", err
	}
	runID, _, _ := strings.Cut(string(data), "\n")
	return f, strings.TrimSpace(runID), nil
}

// recordRun writes the run's ID, and the directory for whoever reads the
// file.
func recordRun(f *os.File, runID, dir string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(runID+"\n"+resolvedDir(dir)+"\n"), 0)
	return err
}

package outputdir

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// privateLocks gives the test its own lock root (the user's cache).
func privateLocks(t *testing.T) string {
	t.Helper()
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	root, err := lockRoot()
	if err != nil || !strings.HasPrefix(root, cache) {
		t.Fatalf("lock root %s %v, want it in %s", root, err, cache)
	}
	return root
}

func TestAcquire_aSecondBuildOnTheSameDirectoryFailsClearly(t *testing.T) {
	privateLocks(t)
	dir := filepath.Join(t.TempDir(), "out")
	first, err := Acquire(dir, false, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(dir, false, "run-2"); err == nil || !strings.Contains(err.Error(), "in use by another running build") {
		t.Fatalf("second claim: %v", err)
	}
	first.Release()
	again, err := Acquire(dir, false, "run-2")
	if err != nil || again.Dir != dir {
		t.Fatalf("claim after release: %v %v", again, err)
	}
	again.Release()
}

func TestAcquire_defaultsMoveAsideForASiblingOfTheSameRun(t *testing.T) {
	privateLocks(t)
	base := filepath.Join(t.TempDir(), "output-base")
	// Parallel siblings: the first holds output-base.
	first, err := Acquire(base, true, "run-1")
	if err != nil || first.Dir != base || first.Suffix != "" {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := Acquire(base, true, "run-1")
	if err != nil || second.Dir != base+"-2" || second.Suffix != "-2" {
		t.Fatalf("second: %+v %v", second, err)
	}
	os.MkdirAll(base, 0o755)
	first.Release()
	second.Release()
	// A sibling that runs after the first finished (-parallel-builds=1)
	// must not take, or with -force delete, its output.
	third, err := Acquire(base, true, "run-1")
	if err != nil || third.Dir != base+"-2" {
		t.Fatalf("sequential sibling: %+v %v", third, err)
	}
	third.Release()
	// The next run reuses the plain name.
	next, err := Acquire(base, true, "run-2")
	if err != nil || next.Dir != base {
		t.Fatalf("next run: %+v %v", next, err)
	}
	next.Release()
}

// A build killed with SIGKILL holds its lock no longer: the directory can
// be claimed, which is what tells its work directory is a leftover.
func TestAcquire_aKilledHolderReleasesTheDirectory(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	if err := fileutil.PrivateDir(privateLocks(t)); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	holder := exec.Command("flock", "--exclusive", "--close", lockPath(dir), "sleep", "60")
	// Its own process group, so that the kill below takes sleep too.
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := Acquire(dir, false, "")
		if err != nil {
			break
		}
		c.Release()
		if time.Now().After(deadline) {
			t.Fatal("the holder never took the lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-holder.Process.Pid, syscall.SIGKILL)
	holder.Wait()
	// The kernel drops the lock once the last descriptor closes; flock's
	// child may still hold its inherited copy for a moment after the kill.
	deadline = time.Now().Add(5 * time.Second)
	for {
		c, err := Acquire(dir, false, "")
		if err == nil {
			c.Release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock of a killed build still held: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Issue 20 item 3: the lock sits in the user's cache, not beside the
// output directory (in the user's repository), and two spellings of one
// directory share it.
func TestAcquire_leavesNothingBesideTheOutputDirectory(t *testing.T) {
	root := privateLocks(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	c, err := Acquire(dir, false, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("beside the output directory: %v", entries)
	}
	if filepath.Dir(lockPath(dir)) != root {
		t.Errorf("lock %s is not in %s", lockPath(dir), root)
	}
	st, err := os.Stat(root)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("lock root %v %v, want mode 0700", st, err)
	}
	if st, err := os.Stat(lockPath(dir)); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("lock file %v %v, want mode 0600", st, err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(parent, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(filepath.Join(link, "out"), false, "run-2"); err == nil || !strings.Contains(err.Error(), "in use by another running build") {
		t.Errorf("the same directory through a symbolic link: %v, want it locked", err)
	}
}

// Issue 20 item 3: a symbolic link, a hard link, another user's file or
// a FIFO planted as the lock file is refused; the file it points to is
// not touched.
func TestAcquire_refusesAPlantedLockFile(t *testing.T) {
	root := privateLocks(t)
	if err := fileutil.PrivateDir(root); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "passwd")
	const content = "root:x:0:0:root:/root:/bin/bash\n"
	plant := map[string]func(lock string) error{
		"symbolic link": func(lock string) error { return os.Symlink(victim, lock) },
		"hard link":     func(lock string) error { return os.Link(victim, lock) },
		"fifo":          func(lock string) error { return syscall.Mkfifo(lock, 0o666) },
		"directory":     func(lock string) error { return os.Mkdir(lock, 0o755) },
	}
	if os.Geteuid() == 0 {
		plant["another user's file"] = func(lock string) error {
			if err := os.WriteFile(lock, nil, 0o666); err != nil {
				return err
			}
			return os.Chown(lock, 65534, 65534)
		}
	}
	for name, plantIt := range plant {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(victim, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "out")
			if err := plantIt(lockPath(dir)); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				c, err := Acquire(dir, false, "run-1")
				c.Release()
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), lockPath(dir)) {
					t.Errorf("error %v, want the planted lock file refused", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the claim blocked on the planted file")
			}
			if data, _ := os.ReadFile(victim); string(data) != content {
				t.Errorf("the file the lock pointed to now holds %q", data)
			}
		})
	}
	// A lock root that is a link to another directory is refused too.
	privateLocks(t)
	other := t.TempDir()
	root2, _ := lockRoot()
	if err := os.MkdirAll(filepath.Dir(root2), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, root2); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(filepath.Join(t.TempDir(), "out"), false, "run-1"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("lock root as a link: %v", err)
	}
	if entries, _ := os.ReadDir(other); len(entries) != 0 {
		t.Errorf("locks written through the link: %v", entries)
	}
}

package kvm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestClaimOutputDir_aSecondBuildOnTheSameDirectoryFailsClearly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	first, err := claimOutputDir(dir, false, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := claimOutputDir(dir, false, "run-2"); err == nil || !strings.Contains(err.Error(), "in use by another running build") {
		t.Fatalf("second claim: %v", err)
	}
	first.Release()
	again, err := claimOutputDir(dir, false, "run-2")
	if err != nil || again.Dir != dir {
		t.Fatalf("claim after release: %v %v", again, err)
	}
	again.Release()
}

func TestClaimOutputDir_defaultsMoveAsideForASiblingOfTheSameRun(t *testing.T) {
	base := filepath.Join(t.TempDir(), "output-base")
	// Parallel siblings: the first holds output-base.
	first, err := claimOutputDir(base, true, "run-1")
	if err != nil || first.Dir != base || first.Suffix != "" {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := claimOutputDir(base, true, "run-1")
	if err != nil || second.Dir != base+"-2" || second.Suffix != "-2" {
		t.Fatalf("second: %+v %v", second, err)
	}
	os.MkdirAll(base, 0o755)
	first.Release()
	second.Release()
	// A sibling that runs after the first finished (-parallel-builds=1)
	// must not take, or with -force delete, its output.
	third, err := claimOutputDir(base, true, "run-1")
	if err != nil || third.Dir != base+"-2" {
		t.Fatalf("sequential sibling: %+v %v", third, err)
	}
	third.Release()
	// The next run reuses the plain name.
	next, err := claimOutputDir(base, true, "run-2")
	if err != nil || next.Dir != base {
		t.Fatalf("next run: %+v %v", next, err)
	}
	next.Release()
}

// A build killed with SIGKILL holds its lock no longer: the directory can
// be claimed, which is what tells its work directory is a leftover.
func TestClaimOutputDir_aKilledHolderReleasesTheDirectory(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	dir := filepath.Join(t.TempDir(), "out")
	holder := exec.Command("flock", "--exclusive", "--close", lockPath(dir), "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := claimOutputDir(dir, false, "")
		if err != nil {
			break
		}
		c.Release()
		if time.Now().After(deadline) {
			t.Fatal("the holder never took the lock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	holder.Process.Signal(syscall.SIGKILL)
	holder.Wait()
	c, err := claimOutputDir(dir, false, "")
	if err != nil {
		t.Fatalf("lock of a killed build still held: %v", err)
	}
	c.Release()
}

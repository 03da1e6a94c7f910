package export

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func TestExplainNoSpace(t *testing.T) {
	dir := t.TempDir() // not full: "Invalid argument" is taken at its word
	goErr := fmt.Errorf("compressing: %w", &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC})
	qemuErr := errors.New("qemu-img convert to x.raw: qemu-img: error while writing at byte 197263360: No space left on device")
	invalid := errors.New("qemu-img convert to x.vmdk: qemu-img: error while writing at byte 235077632: Invalid argument")
	for _, err := range []error{goErr, qemuErr} {
		got := (&exporter{}).explainNoSpace(err, "/exports", "/exports/x.raw")
		if got == nil || got.Error() != "no space left on device in /exports while writing /exports/x.raw: free some space there or set output_directory to a larger file system" {
			t.Errorf("%v became %v", err, got)
		}
		if !errors.Is(got, err) {
			t.Errorf("the cause %v is lost", err)
		}
	}
	if got := (&exporter{}).explainNoSpace(invalid, dir, filepath.Join(dir, "x.vmdk")); got != invalid {
		t.Errorf("Invalid argument on a file system with room became %v", got)
	}
	if got := (&exporter{}).explainNoSpace(nil, dir, "x"); got != nil {
		t.Errorf("nil became %v", got)
	}
}

// A real full file system, through qemu-img's two ways of saying so:
// ENOSPC (raw, and the intermediate image of a compressed target) and
// EINVAL (streamOptimized vmdk).
func TestPostProcess_fullFileSystemSaysWhere(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (make deps)")
	}
	// 24 MiB of random data: it fills an 8 MiB file system in every format.
	src := filepath.Join(t.TempDir(), "noise.raw")
	noise := make([]byte, 24<<20)
	rand.Read(noise)
	noise[510], noise[511] = 0x55, 0xAA
	os.WriteFile(src, noise, 0o644)
	for _, target := range []map[string]interface{}{
		{"format": "raw"},
		{"format": "vmdk"},
		{"format": "raw", "compression": "zstd"},
	} {
		full := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", full).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs: %v %s", err, out)
		}
		p := configure(t, map[string]interface{}{"output_directory": full, "target": []map[string]interface{}{target}})
		ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: io.Discard, ErrorWriter: io.Discard}
		_, _, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{src}})
		want := "no space left on device in " + full + " while writing " + filepath.Join(full, "noise")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want %q", target, err, want)
		}
		if entries, _ := os.ReadDir(full); len(entries) > 0 {
			t.Errorf("%v: left behind %v", target, entries)
		}
		exec.Command("umount", full).Run()
	}
}

// On a nearly full file system, qemu-img's VMDK writer may abort on an
// assertion instead of reporting the write error: that is a full disk too.
func TestExplainNoSpace_anyFailureOnANearlyFullFileSystem(t *testing.T) {
	crash := errors.New("qemu-img convert to input.vmdk: qemu-img: ../../util/error.c:59: error_setv: Assertion `*errp == NULL' failed.")
	t.Parallel()
	nearlyFullDisk := &exporter{FreeSpace: func(string) (int64, bool) { return 64 << 10, true }}
	got := nearlyFullDisk.explainNoSpace(crash, "/exports", "/exports/input.vmdk")
	var noSpace *noSpaceError
	if !errors.As(got, &noSpace) || !errors.Is(got, crash) {
		t.Fatalf("%v became %v, want a noSpaceError wrapping it", crash, got)
	}
	roomyDisk := &exporter{FreeSpace: func(string) (int64, bool) { return 1 << 30, true }}
	if got := roomyDisk.explainNoSpace(crash, "/exports", "/exports/input.vmdk"); got != crash {
		t.Fatalf("a failure with room to spare became %v", got)
	}
}

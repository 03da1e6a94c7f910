package kvm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

func snapshotState(t *testing.T) (*multistep.BasicStateBag, *qemumock.DriverMock, string) {
	state, driver := testState(t)
	out := t.TempDir()
	work := filepath.Join(out, ".work")
	os.Mkdir(work, 0o755)
	overlay := filepath.Join(work, "disk.qcow2")
	os.WriteFile(overlay, []byte("overlay bytes"), 0o644)
	keyOverlayPath.Put(state, overlay)
	return state, driver, out
}

func TestStepSnapshot_writesTheImageAndAVerifiableChecksum(t *testing.T) {
	state, driver, out := snapshotState(t)
	driver.ConvertContent = []byte("flattened image")
	step := &stepSnapshot{OutputDir: out, ImageName: "golden", Format: "qcow2", Compression: "zstd", Mode: "standalone"}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	call := driver.ConvertCalls[0]
	if call[2] != "qcow2" || call[3] != "zstd" || call[1] == filepath.Join(out, "golden.qcow2") {
		t.Fatalf("convert %v: want qcow2/zstd written to a temporary name", call)
	}
	sum := sha256.Sum256([]byte("flattened image"))
	want := hex.EncodeToString(sum[:])
	line, _ := os.ReadFile(filepath.Join(out, "golden.qcow2.sha256"))
	if string(line) != want+"  golden.qcow2\n" {
		t.Fatalf("checksum file %q, want %q", line, want+"  golden.qcow2\n")
	}
	if keyImageChecksum.Get(state) != want {
		t.Fatalf("image_checksum %v, want %s", keyImageChecksum.Get(state), want)
	}
	st, _ := os.Stat(filepath.Join(out, "golden.qcow2"))
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("image mode %v, want 0644", st.Mode().Perm())
	}
	assertOnly(t, out, ".work", "golden.qcow2", "golden.qcow2.sha256")
}

func TestStepSnapshot_aFailedConvertLeavesNothingBehind(t *testing.T) {
	state, driver, out := snapshotState(t)
	driver.ConvertErr = errors.New("qemu-img convert: No space left on device")
	step := &stepSnapshot{OutputDir: out, ImageName: "golden", Format: "qcow2", Compression: "zstd", Mode: "standalone"}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("a failed convert did not halt")
	}
	if !strings.Contains(stateErr(state).Error(), "No space left") {
		t.Fatalf("error %v lacks qemu-img's reason", stateErr(state))
	}
	step.Cleanup(state)
	assertOnly(t, out, ".work")
}

func TestStepSnapshot_overlayModeKeepsTheOverlay(t *testing.T) {
	state, driver, out := snapshotState(t)
	source := filepath.Join(t.TempDir(), "source.qcow2")
	keySourceImagePath.Put(state, source)
	step := &stepSnapshot{OutputDir: out, ImageName: "layer", Format: "qcow2", Mode: "overlay"}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if len(driver.ConvertCalls) != 0 {
		t.Fatal("overlay mode must not flatten the disk")
	}
	data, _ := os.ReadFile(filepath.Join(out, "layer.qcow2"))
	if string(data) != "overlay bytes" {
		t.Fatalf("output %q is not the overlay", data)
	}
	// kvm-export accepts this backing file, and no other (issue 20).
	if got := keyImageBackingFile.Get(state); got != source {
		t.Errorf("image_backing_file %q, want the source %s", got, source)
	}
}

// assertOnly fails unless dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}

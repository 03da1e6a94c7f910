package packertest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MountRoot converts a disk image to raw and mounts its largest partition
// (the root filesystem of the test image) read-only, for offline
// inspection. It needs root for the loop mount and skips otherwise.
func MountRoot(t *testing.T, image string) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("inspecting an image offline needs root (loop mount)")
	}
	raw := filepath.Join(t.TempDir(), "disk.raw")
	if out, err := exec.Command("qemu-img", "convert", "-O", "raw", image, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v\n%s", err, out)
	}
	out, err := exec.Command("sfdisk", "--json", raw).Output()
	if err != nil {
		t.Fatalf("sfdisk --json: %v", err)
	}
	var table struct {
		PartitionTable struct {
			SectorSize int `json:"sectorsize"`
			Partitions []struct {
				Start, Size int64
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(out, &table); err != nil {
		t.Fatal(err)
	}
	var start, size int64
	for _, p := range table.PartitionTable.Partitions {
		if p.Size > size {
			start, size = p.Start, p.Size
		}
	}
	mnt := t.TempDir()
	offset := start * int64(max(table.PartitionTable.SectorSize, 512))
	if out, err := exec.Command("mount", "-o", fmt.Sprintf("ro,noload,loop,offset=%d", offset), raw, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	return mnt
}

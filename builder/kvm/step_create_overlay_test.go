package kvm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/diskcheck"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

func overlayState(t *testing.T, sourceContent []byte) (*multistep.BasicStateBag, *qemumock.DriverMock) {
	state, driver := testState(t)
	dir := t.TempDir()
	source := filepath.Join(dir, "source.img")
	if err := os.WriteFile(source, sourceContent, 0o644); err != nil {
		t.Fatal(err)
	}
	keySourceImagePath.Put(state, source)
	keyWorkDir.Put(state, dir)
	return state, driver
}

func TestStepCreateOverlay_backsTheSourceWithItsDetectedFormat(t *testing.T) {
	state, driver := overlayState(t, []byte("qcow2 data"))
	driver.ImageInfoResult = &qemu.ImageInfo{Format: "qcow2", VirtualSize: 2 << 30}
	step := &stepCreateOverlay{DiskSize: 4 << 30}

	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	call := driver.CreateOverlayCalls[0]
	if call[1] != "qcow2" || call[3] != int64(4<<30) {
		t.Fatalf("overlay created with format %v size %v, want qcow2 and 4 GiB", call[1], call[3])
	}
	if !filepath.IsAbs(call[0].(string)) {
		t.Fatalf("backing path %q must be absolute so the overlay works from any directory", call[0])
	}
	if keyOverlayPath.Get(state) != call[2] || keyDiskVirtualSize.Get(state) != int64(4<<30) {
		t.Fatalf("state not published: %v %v", keyOverlayPath.Get(state), keyDiskVirtualSize.Get(state))
	}
}

func TestStepCreateOverlay_keepsTheSourceSizeWhenDiskSizeIsUnset(t *testing.T) {
	state, driver := overlayState(t, []byte("qcow2 data"))
	driver.ImageInfoResult = &qemu.ImageInfo{Format: "qcow2", VirtualSize: 3 << 30}
	if action := (&stepCreateOverlay{}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if got := keyDiskVirtualSize.Get(state); got != int64(3<<30) {
		t.Fatalf("virtual size %v, want the source's 3 GiB", got)
	}
}

func TestStepCreateOverlay_refusesToShrink(t *testing.T) {
	state, driver := overlayState(t, []byte("qcow2 data"))
	driver.ImageInfoResult = &qemu.ImageInfo{Format: "qcow2", VirtualSize: 4 << 30}
	action := (&stepCreateOverlay{DiskSize: 1 << 30}).Run(context.Background(), state)
	if action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "disk_size") {
		t.Fatalf("want a disk_size error, got %v", stateErr(state))
	}
	if len(driver.CreateOverlayCalls) != 0 {
		t.Fatal("an overlay was created despite the error")
	}
}

func TestStepCreateOverlay_refusesRawDataThatIsNoDisk(t *testing.T) {
	state, driver := overlayState(t, []byte("<html>404 Not Found</html>"))
	driver.ImageInfoResult = &qemu.ImageInfo{Format: "raw", VirtualSize: 26}
	action := (&stepCreateOverlay{}).Run(context.Background(), state)
	if action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "not a disk image") {
		t.Fatalf("want a not-a-disk-image error, got %v", stateErr(state))
	}
}

func TestStepCreateOverlay_acceptsARawDiskWithAPartitionTable(t *testing.T) {
	sector := make([]byte, 1024)
	sector[510], sector[511] = 0x55, 0xAA
	state, driver := overlayState(t, sector)
	driver.ImageInfoResult = &qemu.ImageInfo{Format: "raw", VirtualSize: 1024}
	if action := (&stepCreateOverlay{}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if driver.CreateOverlayCalls[0][1] != "raw" {
		t.Fatalf("backing format %v, want raw", driver.CreateOverlayCalls[0][1])
	}
}

func TestStepCreateOverlay_reportsWhatQemuImgSaid(t *testing.T) {
	state, driver := overlayState(t, []byte("x"))
	driver.ImageInfoErr = errors.New("qemu-img info: Could not open 'x': Image is not in qcow2 format")
	(&stepCreateOverlay{}).Run(context.Background(), state)
	if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "Image is not in qcow2 format") {
		t.Fatalf("error %v does not carry qemu-img's message", err)
	}
}

func TestStepCreateOverlay_refusesAQcow2ThatQemuImgCheckFindsDamaged(t *testing.T) {
	state, driver := overlayState(t, []byte("qcow2 data"))
	driver.ImageInfoResult = &qemu.ImageInfo{Format: "qcow2", VirtualSize: 2 << 30}
	driver.CheckImageErr = errors.New("qemu-img check found 5379 corruptions and 0 check errors (exit 2)")
	action := (&stepCreateOverlay{}).Run(context.Background(), state)
	err := stateErr(state)
	if action != multistep.ActionHalt || err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), "5379 corruptions") {
		t.Fatalf("want a damaged-source error with qemu-img's findings, got %v", err)
	}
	if len(driver.CheckImageCalls) != 1 || !filepath.IsAbs(driver.CheckImageCalls[0]) {
		t.Fatalf("check calls %v", driver.CheckImageCalls)
	}
	if len(driver.CreateOverlayCalls) != 0 {
		t.Fatal("an overlay was created on a damaged source")
	}
}

// sfdiskImage writes a size-byte disk labelled by sfdisk with one
// partition filling it.
func sfdiskImage(t *testing.T, label string, size int64) string {
	t.Helper()
	if _, err := exec.LookPath("sfdisk"); err != nil {
		t.Skip("sfdisk is not installed (make deps)")
	}
	path := filepath.Join(t.TempDir(), "disk.raw")
	f, _ := os.Create(path)
	f.Truncate(size)
	f.Close()
	cmd := exec.Command("sfdisk", "-q", path)
	cmd.Stdin = strings.NewReader("label: " + label + "\n,,L\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	return path
}

// A raw disk cut short (an interrupted download with checksum "none") is
// refused before boot: its partition table, MBR or GPT, says how long it is.
func TestPartitionsFit_findsATruncatedRawDisk(t *testing.T) {
	for _, label := range []string{"dos", "gpt"} {
		t.Run(label, func(t *testing.T) {
			disk := sfdiskImage(t, label, 8<<20)
			if err := diskcheck.PartitionsFit(disk); err != nil {
				t.Fatalf("a whole disk was refused: %v", err)
			}
			os.Truncate(disk, 5<<20)
			err := diskcheck.PartitionsFit(disk)
			if err == nil || !strings.Contains(err.Error(), "file holds only 5242880 bytes") {
				t.Fatalf("a truncated disk passed: %v", err)
			}
		})
	}
}

func TestStepCreateOverlay_refusesATruncatedRawDisk(t *testing.T) {
	disk := sfdiskImage(t, "gpt", 8<<20)
	os.Truncate(disk, 4<<20)
	state, driver := testState(t)
	keySourceImagePath.Put(state, disk)
	keyWorkDir.Put(state, t.TempDir())
	driver.ImageInfoResult = &qemu.ImageInfo{Format: "raw", VirtualSize: 4 << 20}
	action := (&stepCreateOverlay{}).Run(context.Background(), state)
	if err := stateErr(state); action != multistep.ActionHalt || !strings.Contains(err.Error(), "is damaged") {
		t.Fatalf("want a damaged-source error, got %v", err)
	}
}

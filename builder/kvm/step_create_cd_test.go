package kvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/iso9660/isotest"
)

func TestStepCreateCD_writesFilesDirectoriesAndContent(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "preseed.cfg"), []byte("d-i debian-installer/locale string en_US\n"), 0o644)
	os.MkdirAll(filepath.Join(src, "drivers", "net"), 0o755)
	os.WriteFile(filepath.Join(src, "drivers", "net", "virtio.inf"), []byte("[Version]\n"), 0o644)
	big := strings.Repeat("x", 3<<20) // larger than the writer's fixed overhead
	os.WriteFile(filepath.Join(src, "big.bin"), []byte(big), 0o644)

	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	step := &stepCreateCD{
		Files:   []string{filepath.Join(src, "preseed.cfg"), filepath.Join(src, "drivers"), filepath.Join(src, "big.bin")},
		Content: map[string]string{"ks/user-data": "#cloud-config\n"},
		Label:   "OEMDRV",
	}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	want := map[string]string{
		"/preseed.cfg":            "d-i debian-installer/locale string en_US\n",
		"/drivers/net/virtio.inf": "[Version]\n",
		"/ks/user-data":           "#cloud-config\n",
		"/big.bin":                big,
	}
	label, files := isotest.Read(t, keyCDPath.Get(state), "/preseed.cfg", "/drivers/net/virtio.inf", "/ks/user-data", "/big.bin")
	if label != "OEMDRV" {
		t.Fatalf("label %q, want OEMDRV (cd_label)", label)
	}
	for name, content := range want {
		if files[name] != content {
			t.Errorf("%s holds %d bytes, want %d", name, len(files[name]), len(content))
		}
	}
}

func TestStepCreateCD_aTrailingSlashCopiesOnlyTheContents(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "answer.txt"), []byte("42"), 0o644)
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	if action := (&stepCreateCD{Files: []string{src + "/"}}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if _, files := isotest.Read(t, keyCDPath.Get(state), "/answer.txt"); files["/answer.txt"] != "42" {
		t.Fatalf("answer.txt holds %q", files["/answer.txt"])
	}
}

func TestStepCreateCD_nothingToWriteWritesNothing(t *testing.T) {
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	if action := (&stepCreateCD{}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if _, ok := keyCDPath.GetOk(state); ok {
		t.Fatal("a CD was attached without cd_files or cd_content")
	}
}

func TestStepCreateCD_aVanishedFileFailsNamingCDFiles(t *testing.T) {
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	action := (&stepCreateCD{Files: []string{filepath.Join(t.TempDir(), "gone")}}).Run(context.Background(), state)
	if action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "cd_files") {
		t.Fatalf("want a cd_files error, got %v", stateErr(state))
	}
}

func TestStepCreateBlankDisk_createsTheDiskOfDiskSize(t *testing.T) {
	state, driver := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	if action := (&stepCreateBlankDisk{Size: 8 << 30}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if len(driver.CreateDiskCalls) != 1 || driver.CreateDiskCalls[0][1] != int64(8<<30) {
		t.Fatalf("CreateDisk calls %v, want one of 8 GiB", driver.CreateDiskCalls)
	}
	if keyOverlayPath.Get(state) != driver.CreateDiskCalls[0][0] || keyDiskVirtualSize.Get(state) != int64(8<<30) {
		t.Fatalf("state not published: %v %v", keyOverlayPath.Get(state), keyDiskVirtualSize.Get(state))
	}
}

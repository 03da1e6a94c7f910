package kvm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func TestStepPrepareFirmware_secureBootUsesTheSecureBootBuildAndEnrolledKeys(t *testing.T) {
	state, _ := testState(t)
	fw, work := t.TempDir(), t.TempDir()
	keyWorkDir.Put(state, work)
	plainCode, plainVars := filepath.Join(fw, "OVMF_CODE_4M.fd"), filepath.Join(fw, "OVMF_VARS_4M.fd")
	sbCode, msVars := filepath.Join(fw, "OVMF_CODE_4M.secboot.fd"), filepath.Join(fw, "OVMF_VARS_4M.ms.fd")
	for path, content := range map[string]string{plainCode: "code", plainVars: "vars", sbCode: "secboot code", msVars: "ms keys"} {
		os.WriteFile(path, []byte(content), 0o644)
	}
	step := &stepPrepareFirmware{Firmware: "uefi", SecureBoot: true,
		Candidates: [][2]string{{plainCode, plainVars}}, SecureBootCandidates: [][2]string{{"/nonexistent/a", "/nonexistent/b"}, {sbCode, msVars}}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if keyEFICode.Get(state) != sbCode {
		t.Fatalf("efi_code %v, want the Secure Boot build", keyEFICode.Get(state))
	}
	if data, _ := os.ReadFile(keyEFIVars.Get(state)); string(data) != "ms keys" {
		t.Fatalf("variables copy holds %q, want the enrolled template", data)
	}
}

func TestStepPrepareFirmware_secureBootWithoutItsFirmwareSaysWhatToInstall(t *testing.T) {
	state, _ := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	fw := t.TempDir()
	code, vars := filepath.Join(fw, "OVMF_CODE.fd"), filepath.Join(fw, "OVMF_VARS.fd")
	os.WriteFile(code, nil, 0o644)
	os.WriteFile(vars, nil, 0o644)
	// Plain OVMF is there, but it must not be used for Secure Boot.
	step := &stepPrepareFirmware{Firmware: "uefi", SecureBoot: true, Candidates: [][2]string{{code, vars}},
		SecureBootCandidates: [][2]string{{"/nonexistent/a", "/nonexistent/b"}}}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("Secure Boot fell back to OVMF without Secure Boot")
	}
	if err := stateErr(state).Error(); !strings.Contains(err, "OVMF_CODE_4M.secboot.fd") || !strings.Contains(err, "efi_firmware_code") {
		t.Fatalf("error %q", err)
	}
}

func TestStepCreateAdditionalDisks_createsEachDiskInTheWorkDir(t *testing.T) {
	state, driver := testState(t)
	work := t.TempDir()
	keyWorkDir.Put(state, work)
	step := &stepCreateAdditionalDisks{Disks: []AdditionalDisk{{Label: "data", sizeBytes: 1 << 30}, {Label: "logs", sizeBytes: 64 << 20}}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	paths := keyAdditionalDiskPaths.Get(state)
	if len(paths) != 2 || len(driver.CreateDiskCalls) != 2 {
		t.Fatalf("paths %v calls %v", paths, driver.CreateDiskCalls)
	}
	for i, want := range []int64{1 << 30, 64 << 20} {
		call := driver.CreateDiskCalls[i]
		if call[0] != paths[i] || call[1] != want || filepath.Dir(paths[i]) != work {
			t.Errorf("disk %d: call %v, path %s", i, call, paths[i])
		}
	}
}

func TestStepCreateAdditionalDisks_noneLeavesAnEmptyList(t *testing.T) {
	state, driver := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	if action := (&stepCreateAdditionalDisks{}).Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if paths := keyAdditionalDiskPaths.Get(state); len(paths) != 0 || len(driver.CreateDiskCalls) != 0 {
		t.Fatalf("paths %v", paths)
	}
}

func TestStepCreateAdditionalDisks_aFailureNamesTheDisk(t *testing.T) {
	state, driver := testState(t)
	keyWorkDir.Put(state, t.TempDir())
	driver.CreateDiskErr = errors.New("No space left on device")
	step := &stepCreateAdditionalDisks{Disks: []AdditionalDisk{{Label: "data", sizeBytes: 1 << 20}}}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), `"data"`) {
		t.Fatalf("error %v", stateErr(state))
	}
}

func extraDisks(t *testing.T, state multistep.StateBag, names ...string) {
	work := filepath.Dir(keyOverlayPath.Get(state))
	var paths []string
	for _, n := range names {
		p := filepath.Join(work, n)
		os.WriteFile(p, []byte("extra "+n), 0o644)
		paths = append(paths, p)
	}
	keyAdditionalDiskPaths.Put(state, paths)
}

func TestStepSnapshot_writesEachAdditionalDiskBesideTheImage(t *testing.T) {
	state, driver, out := snapshotState(t)
	extraDisks(t, state, "disk1.qcow2", "disk2.qcow2")
	driver.ConvertContent = []byte("flattened")
	step := &stepSnapshot{OutputDir: out, ImageName: "golden", Format: "qcow2", Compression: "zstd", Mode: "standalone",
		AdditionalDiskLabels: []string{"data", "disk2"}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	want := []string{filepath.Join(out, "golden-data.qcow2"), filepath.Join(out, "golden-disk2.qcow2")}
	if got := keyAdditionalDiskImages.Get(state); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("additional_disk_images %v, want %v", got, want)
	}
	if len(driver.ConvertCalls) != 3 || driver.ConvertCalls[0][2] != "qcow2" || driver.ConvertCalls[0][3] != "zstd" {
		t.Fatalf("convert calls %v", driver.ConvertCalls)
	}
	assertOnly(t, out, ".work", "golden-data.qcow2", "golden-data.qcow2.sha256", "golden-disk2.qcow2", "golden-disk2.qcow2.sha256",
		"golden.qcow2", "golden.qcow2.sha256")
	if line, _ := os.ReadFile(want[0] + ".sha256"); !strings.HasSuffix(string(line), "  golden-data.qcow2\n") {
		t.Fatalf("checksum file %q", line)
	}
}

// A disk that fails to convert leaves no image at all: not the main image
// without its disks, and no temporary file.
func TestStepSnapshot_aFailedAdditionalDiskLeavesNoImage(t *testing.T) {
	state, driver, out := snapshotState(t)
	extraDisks(t, state, "disk1.qcow2")
	driver.ConvertErr = errors.New("qemu-img: No space left on device")
	step := &stepSnapshot{OutputDir: out, ImageName: "golden", Format: "qcow2", Compression: "zstd", Mode: "standalone",
		AdditionalDiskLabels: []string{"data"}}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("a failed disk did not halt")
	}
	step.Cleanup(state)
	assertOnly(t, out, ".work")
}

func TestStepSnapshot_overlayModeMovesTheAdditionalDisks(t *testing.T) {
	state, driver, out := snapshotState(t)
	extraDisks(t, state, "disk1.qcow2")
	step := &stepSnapshot{OutputDir: out, ImageName: "layer", Format: "qcow2", Mode: "overlay", AdditionalDiskLabels: []string{"disk1"}}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatal(stateErr(state))
	}
	if len(driver.ConvertCalls) != 0 {
		t.Fatal("overlay mode converted a disk")
	}
	if data, _ := os.ReadFile(filepath.Join(out, "layer-disk1.qcow2")); string(data) != "extra disk1.qcow2" {
		t.Fatalf("additional disk holds %q", data)
	}
}

func TestArtifact_listsTheAdditionalDisksAfterTheImage(t *testing.T) {
	dir := t.TempDir()
	image, disk := filepath.Join(dir, "golden.qcow2"), filepath.Join(dir, "golden-data.qcow2")
	for _, f := range []string{image, image + ".sha256", disk, disk + ".sha256"} {
		os.WriteFile(f, []byte("x"), 0o644)
	}
	a := &Artifact{ImagePath: image, ChecksumPath: image + ".sha256", Checksum: "abc", Format: "qcow2", AdditionalDisks: []string{disk}}
	if files := a.Files(); len(files) != 2 || files[0] != image || files[1] != disk {
		t.Fatalf("Files %v", files)
	}
	if got := a.hcpLabels()["abc.additional_disks"]; got != disk {
		t.Fatalf("HCP label %v", got)
	}
	if _, ok := (&Artifact{Checksum: "abc"}).hcpLabels()["abc.additional_disks"]; ok {
		t.Fatal("an additional_disks label without additional disks")
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("Destroy left %v", left)
	}
}

func appendTo(t *testing.T, path, text string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(text)
	f.Close()
}

// Secure Boot refusing the boot loader ends the wait for SSH as soon as
// the firmware gives up, with no boot_progress_timeout or ssh_timeout.
func TestStepWaitForSSH_aRefusedBootLoaderFailsAtOnce(t *testing.T) {
	state, _ := sshWaitState(t, fakePort(t, ""))
	appendTo(t, keySerialLog.Get(state),
		"BdsDxe: failed to load Boot0001 \"UEFI Misc Device\" from PciRoot(0x0)/Pci(0x1,0x0): Access Denied\r\n"+
			"BdsDxe: No bootable option or device was found.\r\nBdsDxe: Press any key to enter the Boot Manager Menu.\r\n")
	step := &stepWaitForSSH{Timeout: time.Hour, ProgressTimeout: time.Hour, PollInterval: 20 * time.Millisecond, BannerTimeout: 10 * time.Millisecond}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("the wait went on")
	}
	if err := stateErr(state).Error(); !strings.Contains(err, "refused to start the guest's boot loader") || !strings.Contains(err, "Last ") {
		t.Fatalf("error %q lacks the reason or the serial tail", err)
	}
}

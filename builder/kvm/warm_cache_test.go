package kvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

func testInputs() warmKeyInputs {
	return warmKeyInputs{Source: "abc", SeedUser: "packer", Machine: "q35", CPUs: 1, MemoryMiB: 1024, Accelerator: "tcg", QemuVersion: "7.2", PluginVersion: "0.1.0"}
}

func TestWarmKey_changesWithEveryInput(t *testing.T) {
	base := testInputs()
	changes := map[string]func(*warmKeyInputs){
		"memory":   func(in *warmKeyInputs) { in.MemoryMiB = 2048 },
		"cpus":     func(in *warmKeyInputs) { in.CPUs = 2 },
		"source":   func(in *warmKeyInputs) { in.Source = "def" },
		"userdata": func(in *warmKeyInputs) { in.UserData = "x" },
		"firmware": func(in *warmKeyInputs) { in.Firmware = "uefi" },
		"qemu":     func(in *warmKeyInputs) { in.QemuVersion = "8.0" },
		"plugin":   func(in *warmKeyInputs) { in.PluginVersion = "0.2.0" },
		"disk":     func(in *warmKeyInputs) { in.DiskSize = 1 },
		"accel":    func(in *warmKeyInputs) { in.Accelerator = "kvm" },
	}
	for name, change := range changes {
		in := base
		change(&in)
		if in.Key() == base.Key() {
			t.Errorf("changing %s keeps the key", name)
		}
	}
	if testInputs().Key() != base.Key() {
		t.Error("equal inputs give different keys")
	}
}

// writeTestEntry commits an entry with the given files.
func writeTestEntry(t *testing.T, root string, in warmKeyInputs, files map[string]string) string {
	t.Helper()
	tmp, err := newWarmEntryDir(root)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		sums[name], _, _ = fileutil.SHA256(filepath.Join(tmp, name))
	}
	dir, err := commitWarmEntry(root, tmp, in.Key(), warmManifest{Version: warmManifestVer, Inputs: in, Files: sums, InstanceID: "iid", KeyComment: "packer_old", BootSeconds: 30})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

var entryFiles = map[string]string{warmStateFile: "state", warmDiskFile: "disk", warmKeyFile: "KEY"}

func TestOpenWarmEntry_missSoundAndDamaged(t *testing.T) {
	root := t.TempDir()
	in := testInputs()
	if _, err := openWarmEntry(root, in.Key(), in); err != errWarmMiss {
		t.Fatalf("empty cache: %v, want a miss", err)
	}
	dir := writeTestEntry(t, root, in, entryFiles)
	if dir != filepath.Join(root, in.Key()) {
		t.Fatalf("entry at %s", dir)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(root, ".tmp-*")); len(leftovers) > 0 {
		t.Fatalf("temporary directories left: %v", leftovers)
	}
	e, err := openWarmEntry(root, in.Key(), in)
	if err != nil || e.Manifest.InstanceID != "iid" {
		t.Fatalf("sound entry: %v %+v", err, e)
	}
	os.WriteFile(filepath.Join(dir, warmStateFile), []byte("stale"), 0o600)
	if _, err := openWarmEntry(root, in.Key(), in); err == nil || !strings.Contains(err.Error(), "state does not match its checksum") {
		t.Fatalf("damaged entry: %v", err)
	}
	os.Remove(filepath.Join(dir, warmManifestFile))
	if _, err := openWarmEntry(root, in.Key(), in); err == nil || err == errWarmMiss {
		t.Fatalf("entry without manifest: %v, want damaged", err)
	}
}

func TestOpenWarmEntry_refusesAManifestForOtherInputs(t *testing.T) {
	root := t.TempDir()
	in := testInputs()
	other := in
	other.MemoryMiB = 4096
	tmp, _ := newWarmEntryDir(root)
	// An entry renamed to another key: its manifest names other inputs.
	if _, err := commitWarmEntry(root, tmp, in.Key(), warmManifest{Version: warmManifestVer, Inputs: other}); err != nil {
		t.Fatal(err)
	}
	if _, err := openWarmEntry(root, in.Key(), in); err == nil || !strings.Contains(err.Error(), "other inputs") {
		t.Fatalf("got %v", err)
	}
}

func TestEvictWarmEntries_removesLeastRecentlyUsedFirst(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	for i, mem := range []int{1, 2, 3} {
		in := testInputs()
		in.MemoryMiB = mem
		dir := writeTestEntry(t, root, in, map[string]string{warmStateFile: strings.Repeat("x", 1000)})
		used := time.Now().Add(time.Duration(i-10) * time.Hour)
		os.Chtimes(filepath.Join(dir, warmManifestFile), used, used)
		dirs = append(dirs, dir)
	}
	// The oldest entry was used again, so the middle one goes first.
	(&warmEntry{Dir: dirs[0]}).touch()
	removed, err := evictWarmEntries(root, 0, 2*dirSize(dirs[0])+10, dirs[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != dirs[1] {
		t.Fatalf("removed %v, want only %s", removed, dirs[1])
	}
	removed, _ = evictWarmEntries(root, 0, 0, dirs[2])
	if len(removed) != 1 || removed[0] != dirs[0] {
		t.Fatalf("removed %v: the kept entry must stay", removed)
	}
	if _, err := os.Stat(dirs[2]); err != nil {
		t.Fatal("the kept entry was removed")
	}
}

func TestCommitWarmEntry_keepsTheEntryAnotherBuildSavedFirst(t *testing.T) {
	root := t.TempDir()
	in := testInputs()
	first := writeTestEntry(t, root, in, entryFiles)
	tmp, _ := newWarmEntryDir(root)
	os.WriteFile(filepath.Join(tmp, warmStateFile), []byte("second"), 0o600)
	dir, err := commitWarmEntry(root, tmp, in.Key(), warmManifest{Version: warmManifestVer, Inputs: in})
	if err != nil || dir != first {
		t.Fatalf("got %s, %v", dir, err)
	}
	if got, _ := os.ReadFile(filepath.Join(first, warmStateFile)); string(got) != "state" {
		t.Fatalf("the first entry was replaced: %q", got)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("the second build's temporary entry was left")
	}
}

func TestConfig_warmStartRefusesOverlayOutput(t *testing.T) {
	c := &Config{WarmStart: true, OutputMode: "overlay"}
	if errs := c.validateWarmStart(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "warm_start") {
		t.Fatalf("got %v", errs)
	}
	c.OutputMode = "standalone"
	if errs := c.validateWarmStart(); len(errs) != 0 {
		t.Fatalf("got %v", errs)
	}
}

func TestConfig_warmStartRefusesWhatTheSavedStateCannotHold(t *testing.T) {
	for option, c := range map[string]*Config{
		"tpm":              {WarmStart: true, TPM: true},
		"additional_disks": {WarmStart: true, AdditionalDisks: []AdditionalDisk{{Size: "1G"}}},
		"iso_url":          {WarmStart: true, ISOConfig: commonsteps.ISOConfig{RawSingleISOUrl: "installer.iso"}},
	} {
		errs := c.validateWarmStart()
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "warm_start does not work with "+option) {
			t.Errorf("%s: got %v", option, errs)
		}
		c.WarmStart = false
		if errs := c.validateWarmStart(); len(errs) != 0 {
			t.Errorf("%s without warm_start: got %v", option, errs)
		}
	}
}

func TestWarmKey_hardwareChangesTheKey(t *testing.T) {
	a := warmKeyInputs{Source: "s", Hardware: qemu.Hardware{DiskInterface: "virtio-blk"}}
	b := a
	b.Hardware.DiskInterface = "nvme"
	if a.Key() == b.Key() {
		t.Fatal("a different disk interface resumes the same saved VM")
	}
}

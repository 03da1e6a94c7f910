package warmstart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
)

// writeTestEntry commits an entry with the given files.
func writeTestEntry(t *testing.T, cache Cache, in KeyInputs, files map[string]string) string {
	t.Helper()
	tmp, err := cache.newEntryDir()
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
	dir, err := cache.commit(tmp, in.Key(), Manifest{Version: ManifestVersion, Inputs: in, Files: sums, InstanceID: "iid", KeyComment: "packer_old", BootSeconds: 30})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

var entryFiles = map[string]string{StateFile: "state", DiskFile: "disk", KeyFile: "KEY"}

func TestOpen_missSoundAndDamaged(t *testing.T) {
	cache := Cache{Root: t.TempDir()}
	in := testInputs()
	if _, err := cache.Open(in); err != ErrMiss {
		t.Fatalf("empty cache: %v, want a miss", err)
	}
	dir := writeTestEntry(t, cache, in, entryFiles)
	if dir != filepath.Join(cache.Root, in.Key()) {
		t.Fatalf("entry at %s", dir)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(cache.Root, ".tmp-*")); len(leftovers) > 0 {
		t.Fatalf("temporary directories left: %v", leftovers)
	}
	e, err := cache.Open(in)
	if err != nil || e.Manifest.InstanceID != "iid" {
		t.Fatalf("sound entry: %v %+v", err, e)
	}
	os.WriteFile(filepath.Join(dir, StateFile), []byte("stale"), 0o600)
	if _, err := cache.Open(in); err == nil || !strings.Contains(err.Error(), "state does not match its checksum") {
		t.Fatalf("damaged entry: %v", err)
	}
	os.Remove(filepath.Join(dir, ManifestFile))
	if _, err := cache.Open(in); err == nil || err == ErrMiss {
		t.Fatalf("entry without manifest: %v, want damaged", err)
	}
}

func TestOpen_refusesAManifestForOtherInputs(t *testing.T) {
	cache := Cache{Root: t.TempDir()}
	in := testInputs()
	other := in
	other.MemoryMiB = 4096
	tmp, _ := cache.newEntryDir()
	// An entry renamed to another key: its manifest names other inputs.
	if _, err := cache.commit(tmp, in.Key(), Manifest{Version: ManifestVersion, Inputs: other}); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Open(in); err == nil || !strings.Contains(err.Error(), "other inputs") {
		t.Fatalf("got %v", err)
	}
}

// An entry written by an older version with 0644 files is made private
// when it is next opened.
func TestOpen_makesAnOldEntrysFilesPrivate(t *testing.T) {
	cache := Cache{Root: t.TempDir()}
	in := testInputs()
	dir := writeTestEntry(t, cache, in, map[string]string{StateFile: "state", DiskFile: "layer", KeyFile: "KEY"})
	for _, name := range []string{StateFile, DiskFile} {
		os.Chmod(filepath.Join(dir, name), 0o644)
	}
	if _, err := cache.Open(in); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{StateFile, DiskFile, KeyFile} {
		if st, _ := os.Stat(filepath.Join(dir, name)); st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, st.Mode().Perm())
		}
	}
}

func TestEvict_removesLeastRecentlyUsedFirst(t *testing.T) {
	cache := Cache{Root: t.TempDir()}
	var dirs []string
	for i, mem := range []int{1, 2, 3} {
		in := testInputs()
		in.MemoryMiB = mem
		dir := writeTestEntry(t, cache, in, map[string]string{StateFile: strings.Repeat("x", 1000)})
		used := time.Now().Add(time.Duration(i-10) * time.Hour)
		os.Chtimes(filepath.Join(dir, ManifestFile), used, used)
		dirs = append(dirs, dir)
	}
	// The oldest entry was used again, so the middle one goes first.
	(&Entry{Dir: dirs[0]}).Touch()
	cache.MaxBytes = 2*dirSize(dirs[0]) + 10
	removed, err := cache.Evict(0, dirs[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != dirs[1] {
		t.Fatalf("removed %v, want only %s", removed, dirs[1])
	}
	cache.MaxBytes = 0
	removed, _ = cache.Evict(0, dirs[2])
	if len(removed) != 1 || removed[0] != dirs[0] {
		t.Fatalf("removed %v: the kept entry must stay", removed)
	}
	if _, err := os.Stat(dirs[2]); err != nil {
		t.Fatal("the kept entry was removed")
	}
}

func TestCommit_keepsTheEntryAnotherBuildSavedFirst(t *testing.T) {
	cache := Cache{Root: t.TempDir()}
	in := testInputs()
	first := writeTestEntry(t, cache, in, entryFiles)
	tmp, _ := cache.newEntryDir()
	os.WriteFile(filepath.Join(tmp, StateFile), []byte("second"), 0o600)
	dir, err := cache.commit(tmp, in.Key(), Manifest{Version: ManifestVersion, Inputs: in})
	if err != nil || dir != first {
		t.Fatalf("got %s, %v", dir, err)
	}
	if got, _ := os.ReadFile(filepath.Join(first, StateFile)); string(got) != "state" {
		t.Fatalf("the first entry was replaced: %q", got)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatal("the second build's temporary entry was left")
	}
}

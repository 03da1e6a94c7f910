package outputdir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const testWorkDirPrefix = ".packer-kvm-"

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestIsLeftover(t *testing.T) {
	for name, want := range map[string]bool{
		".packer-kvm-123": true, ".base.4567.tmp": true,
		"base.qcow2": false, "base.tmp": false, ".hidden": false, "packer-kvm-1": false,
	} {
		if got := IsLeftover(name, testWorkDirPrefix); got != want {
			t.Errorf("IsLeftover(%q) = %v, want %v", name, got, want)
		}
	}
}

// A build killed with SIGKILL leaves its work directory (and maybe a
// temporary image); they go, each named first, and the rest stays.
func TestRemoveLeftovers_removesOnlyAKilledBuildsFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, testWorkDirPrefix+"123", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, testWorkDirPrefix+"123", "disk.qcow2"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, ".base.4567.tmp"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "base.qcow2"), []byte("x"), 0o644)
	var said []string
	if err := RemoveLeftovers(dir, testWorkDirPrefix, func(name string) { said = append(said, name) }); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"base.qcow2"}) {
		t.Fatalf("left %v", got)
	}
	if !slices.Equal(said, []string{".base.4567.tmp", testWorkDirPrefix + "123"}) {
		t.Fatalf("named %v", said)
	}
}

func TestEmpty_keepsTheDirectory(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "c"), []byte("x"), 0o644)
	if err := Empty(dir); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
}

package firmware

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDefaultDirs(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	if got, want := DefaultDirs(), []string{"/cfg/qemu/firmware", "/etc/qemu/firmware", "/usr/share/qemu/firmware"}; !reflect.DeepEqual(got, want) {
		t.Errorf("with XDG_CONFIG_HOME: %q, want %q", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "relative/cfg") // not absolute: ignored, as the XDG spec says
	if got, want := DefaultDirs()[0], "/home/u/.config/qemu/firmware"; got != want {
		t.Errorf("with a relative XDG_CONFIG_HOME: %q, want %q", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	if got, want := DefaultDirs()[0], "/home/u/.config/qemu/firmware"; got != want {
		t.Errorf("without XDG_CONFIG_HOME: %q, want %q", got, want)
	}
	t.Setenv("HOME", "")
	if got, want := DefaultDirs(), []string{"/etc/qemu/firmware", "/usr/share/qemu/firmware"}; !reflect.DeepEqual(got, want) {
		t.Errorf("without a home: %q, want %q", got, want)
	}
}

// writeFiles creates files (relative to root) with their content.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var testDirs = []string{"/home/u/.config/qemu/firmware", "/etc/qemu/firmware", "/usr/share/qemu/firmware"}

func TestLoadMergesOverridesAndMasks(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"usr/share/qemu/firmware/50-distro.json":           debianPlain,
		"usr/share/qemu/firmware/60-replaced.json":         debianPlain,
		"usr/share/qemu/firmware/70-masked.json":           debianPlain,
		"usr/share/qemu/firmware/80-user-masked.json":      debianPlain,
		"usr/share/qemu/firmware/README":                   "not a descriptor",
		"usr/share/qemu/firmware/90-broken.json":           "{",
		"etc/qemu/firmware/60-replaced.json":               `{"description": "admin's", "interface-types": ["bios"], "mapping": {"device": "memory", "filename": "/bios.bin"}, "targets": []}`,
		"etc/qemu/firmware/70-masked.json":                 "",
		"etc/qemu/firmware/10-admin.json":                  debianPlain,
		"etc/qemu/firmware/80-user-masked.json":            debianPlain,
		"home/u/.config/qemu/firmware/80-user-masked.json": "",
		"home/u/.config/qemu/firmware/05-user.json":        debianPlain,
	})
	if err := os.Mkdir(filepath.Join(root, "usr/share/qemu/firmware/40-dir.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := Load(root, testDirs)
	type row struct {
		name, dir string
		masked    bool
		parsed    bool
	}
	var got []row
	for _, e := range c.Entries {
		dir, _ := filepath.Rel(root, filepath.Dir(e.Path))
		got = append(got, row{e.Name, dir, e.Masked, e.Descriptor != nil})
	}
	want := []row{
		{"05-user.json", "home/u/.config/qemu/firmware", false, true},
		{"10-admin.json", "etc/qemu/firmware", false, true},
		{"50-distro.json", "usr/share/qemu/firmware", false, true},
		{"60-replaced.json", "etc/qemu/firmware", false, true},
		{"70-masked.json", "etc/qemu/firmware", true, false},
		{"80-user-masked.json", "home/u/.config/qemu/firmware", true, false},
		{"90-broken.json", "usr/share/qemu/firmware", false, false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entries:\n got %v\nwant %v", got, want)
	}
	if d := c.Entries[3].Descriptor; d.Description != "admin's" {
		t.Errorf("60-replaced.json is %q, want the administrator's", d.Description)
	}
	if c.Entries[6].Err == nil {
		t.Error("the broken descriptor has no error")
	}
	if c.Empty() {
		t.Error("Empty() with entries")
	}
}

func TestLoadWithoutDirectories(t *testing.T) {
	c := Load(t.TempDir(), testDirs)
	if !c.Empty() || len(c.Entries) != 0 {
		t.Fatalf("entries without directories: %+v", c.Entries)
	}
	// An empty directory is no different.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/share/qemu/firmware"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !Load(root, testDirs).Empty() {
		t.Fatal("an empty directory gave entries")
	}
}

func TestLoadFollowsSymlinks(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"elsewhere/ovmf.json": debianPlain})
	dir := filepath.Join(root, "usr/share/qemu/firmware")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "elsewhere/ovmf.json"), filepath.Join(dir, "50-ovmf.json")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	c := Load(root, testDirs)
	if len(c.Entries) != 1 || c.Entries[0].Descriptor == nil {
		t.Fatalf("entries: %+v", c.Entries)
	}
}

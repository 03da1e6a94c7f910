package iso9660

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/iso9660/isotest"
)

func TestWrite_contentAndHostFilesReadBack(t *testing.T) {
	src := filepath.Join(t.TempDir(), "big.bin")
	big := strings.Repeat("x", 3<<20) // larger than the fixed overhead
	if err := os.WriteFile(src, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	image := filepath.Join(t.TempDir(), "out.iso")
	err := Write(image, "cidata", []File{
		{Name: "meta-data", Content: []byte("instance-id: x\n")},
		{Name: "dir/sub/user-data", Content: []byte("#cloud-config\n")},
		{Name: "big.bin", Source: src},
	})
	if err != nil {
		t.Fatal(err)
	}
	label, files := isotest.Read(t, image, "/meta-data", "/dir/sub/user-data", "/big.bin")
	if !strings.EqualFold(label, "cidata") {
		t.Errorf("label %q, want cidata", label)
	}
	for name, want := range map[string]string{"/meta-data": "instance-id: x\n", "/dir/sub/user-data": "#cloud-config\n", "/big.bin": big} {
		if files[name] != want {
			t.Errorf("%s holds %d bytes, want %d", name, len(files[name]), len(want))
		}
	}
}

func TestWrite_aMissingSourceFails(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "out.iso"), "x", []File{{Name: "a", Source: filepath.Join(t.TempDir(), "gone")}})
	if err == nil {
		t.Fatal("a missing source file was not reported")
	}
}

func TestFilesFrom_filesDirectoriesTrailingSlashesAndContent(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "preseed.cfg"), []byte("p"), 0o644)
	os.MkdirAll(filepath.Join(src, "drivers", "net"), 0o755)
	os.WriteFile(filepath.Join(src, "drivers", "net", "virtio.inf"), []byte("v"), 0o644)
	files, err := FilesFrom(
		[]string{filepath.Join(src, "preseed.cfg"), filepath.Join(src, "drivers"), filepath.Join(src, "drivers") + "/"},
		map[string]string{"ks/b": "2", "ks/a": "1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Name+"="+f.Source+string(f.Content))
	}
	want := []string{
		"preseed.cfg=" + filepath.Join(src, "preseed.cfg"),
		"drivers/net/virtio.inf=" + filepath.Join(src, "drivers", "net", "virtio.inf"),
		"net/virtio.inf=" + filepath.Join(src, "drivers", "net", "virtio.inf"),
		"ks/a=1",
		"ks/b=2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("files\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := FilesFrom([]string{filepath.Join(src, "gone")}, nil); err == nil {
		t.Fatal("a missing path was not reported")
	}
}

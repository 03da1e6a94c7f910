package export

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/klauspost/compress/gzip"
)

// everyTarget is one target of each format and subformat, and each outer
// compression.
var everyTarget = []map[string]interface{}{
	{"format": "qcow2"},
	{"format": "qcow2", "compression": "zstd", "name": "zstd"},
	{"format": "raw"},
	{"format": "raw", "compression": "zstd", "name": "raw-zstd"},
	{"format": "vmdk"},
	{"format": "vmdk", "compression": "gzip", "name": "vmdk-gzip"},
	{"format": "vmdk", "subformat": "monolithicSparse", "name": "sparse"},
	{"format": "vmdk", "subformat": "monolithicSparse", "compression": "xz", "name": "sparse-xz"},
	{"format": "vhdx"},
	{"format": "vhd"},
	{"format": "vhd", "fixed": true, "name": "fixed"},
	{"format": "vdi"},
	{"format": "vdi", "compression": "gzip", "name": "vdi-gzip"},
	{"format": "gce"},
	{"format": "ova"},
}

// exportEverything exports img to every target in a new directory and
// returns the directory.
func exportEverything(t *testing.T, img string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "exports")
	p := configure(t, map[string]interface{}{"output_directory": out, "target": everyTarget})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	if _, _, _, err := p.PostProcess(context.Background(), ui, kvmArtifact{files: []string{img}}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPostProcess_exportsAreByteReproducible(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	img := testImage(t)
	first := exportEverything(t, img)
	time.Sleep(1100 * time.Millisecond) // every clock-derived field moves on
	second := exportEverything(t, img)
	a, err := os.ReadFile(filepath.Join(first, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(second, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(a), "\n"); n != len(everyTarget) {
		t.Fatalf("SHA256SUMS lists %d files, want %d", n, len(everyTarget))
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("two exports of one input differ:\n%s\n%s", a, b)
	}
	// Archives record the fixed time, not the host's clock or users.
	checkTarTimes(t, filepath.Join(first, "base.ova"), false, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	checkTarTimes(t, filepath.Join(first, "base.tar.gz"), true, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
}

func TestPostProcess_sourceDateEpochSetsArchiveTimes(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	img := testImage(t)
	out := t.TempDir()
	p := configure(t, map[string]interface{}{"output_directory": out, "target": []map[string]interface{}{{"format": "ova"}, {"format": "gce"}, {"format": "vhd"}}})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	if _, _, _, err := p.PostProcess(context.Background(), ui, kvmArtifact{files: []string{img}}); err != nil {
		t.Fatal(err)
	}
	checkTarTimes(t, filepath.Join(out, "base.ova"), false, time.Unix(1700000000, 0))
	checkTarTimes(t, filepath.Join(out, "base.tar.gz"), true, time.Unix(1700000000, 0))
	vhd, err := os.ReadFile(filepath.Join(out, "base.vhd"))
	if err != nil {
		t.Fatal(err)
	}
	footer := vhd[len(vhd)-512:]
	// Seconds since 2000-01-01, big-endian.
	if got := int64(footer[24])<<24 | int64(footer[25])<<16 | int64(footer[26])<<8 | int64(footer[27]); got != 1700000000-946684800 {
		t.Errorf("the VHD footer's timestamp is %d", got)
	}
}

func TestConfigure_refusesABadSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "last tuesday")
	p := &PostProcessor{}
	err := p.Configure(map[string]interface{}{"target": []map[string]interface{}{{"format": "raw"}}})
	if err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Fatalf("Configure = %v, want an error naming SOURCE_DATE_EPOCH", err)
	}
}

// checkTarTimes asserts every member's time and owner.
func checkTarTimes(t *testing.T, path string, gzipped bool, want time.Time) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if gzipped {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		if (!zr.ModTime.IsZero() && zr.ModTime.Unix() != 0) || zr.Name != "" || zr.OS != 255 {
			t.Errorf("%s: the gzip header records %v, %q", path, zr.ModTime, zr.Name)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(want) || hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s: %s has time %v, owner %d/%d; want %v, 0/0", path, hdr.Name, hdr.ModTime, hdr.Uid, hdr.Gid, want)
		}
	}
}

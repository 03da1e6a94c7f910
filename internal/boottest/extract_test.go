package boottest

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func tarOf(t *testing.T, members map[string][]byte, order []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range order {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(members[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(members[name])
	}
	tw.Close()
	return buf.Bytes()
}

// disk is 3 MiB with data in its middle MiB only: the copy keeps the
// size and the holes.
func disk() []byte {
	d := make([]byte, 3<<20)
	copy(d[1<<20:], bytes.Repeat([]byte("data"), 1<<18))
	return d
}

func TestDiskImage(t *testing.T) {
	dir := t.TempDir()
	want := disk()
	ova := filepath.Join(dir, "a.ova")
	os.WriteFile(ova, tarOf(t, map[string][]byte{"a.ovf": []byte("<Envelope/>"), "a.mf": []byte("x"), "a-disk1.vmdk": want}, []string{"a.ovf", "a.mf", "a-disk1.vmdk"}), 0o644)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarOf(t, map[string][]byte{"disk.raw": want}, []string{"disk.raw"}))
	zw.Close()
	gce := filepath.Join(dir, "a.tar.gz")
	os.WriteFile(gce, gz.Bytes(), 0o644)
	var zs bytes.Buffer
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(want)
	enc.Close()
	raw := filepath.Join(dir, "a.raw.zst")
	os.WriteFile(raw, zs.Bytes(), 0o644)

	for _, c := range []struct{ output, format, compression string }{
		{ova, "ova", "none"}, {gce, "gce", "none"}, {raw, "raw", "zstd"},
	} {
		work := t.TempDir()
		got, err := diskImage(context.Background(), c.output, c.format, c.compression, work)
		if err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		data, _ := os.ReadFile(got)
		if !bytes.Equal(data, want) {
			t.Errorf("%s: the disk taken out differs (%d bytes)", c.format, len(data))
		}
		if filepath.Dir(got) != work {
			t.Errorf("%s: written outside the test's directory: %s", c.format, got)
		}
	}
	// An uncompressed image is booted as it is (through the overlay).
	if got, _ := diskImage(context.Background(), "/x/a.vdi", "vdi", "none", dir); got != "/x/a.vdi" {
		t.Errorf("a plain vdi is copied: %s", got)
	}
	// An OVA without a VMDK says so.
	empty := filepath.Join(dir, "empty.ova")
	os.WriteFile(empty, tarOf(t, map[string][]byte{"a.ovf": []byte("x")}, []string{"a.ovf"}), 0o644)
	if _, err := diskImage(context.Background(), empty, "ova", "none", t.TempDir()); err == nil {
		t.Error("an OVA without a disk was accepted")
	}
}

// Compute Engine's documented tarball: `tar --format=oldgnu -Sczf`, which
// stores disk.raw as an old GNU sparse member.
func TestDiskImage_gnuSparseTarball(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	dir := t.TempDir()
	want := disk()
	if err := os.WriteFile(filepath.Join(dir, "disk.raw"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	// Holes where the disk holds zeros, so that tar -S writes a sparse map.
	if err := exec.Command("fallocate", "--dig-holes", filepath.Join(dir, "disk.raw")).Run(); err != nil {
		t.Logf("fallocate --dig-holes: %v (the member may be stored whole)", err)
	}
	gce := filepath.Join(dir, "image.tar.gz")
	if out, err := exec.Command("tar", "--format=oldgnu", "-Sczf", gce, "-C", dir, "disk.raw").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	got, err := diskImage(context.Background(), gce, "gce", "none", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(got)
	if !bytes.Equal(data, want) {
		t.Errorf("disk.raw taken out of the sparse tarball differs (%d bytes)", len(data))
	}
}

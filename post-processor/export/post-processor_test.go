package export

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

func configure(t *testing.T, cfg map[string]interface{}) *PostProcessor {
	t.Helper()
	p := &PostProcessor{}
	if err := p.Configure(cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigure_rejectsWhatDoesNotFit(t *testing.T) {
	target := func(kv ...interface{}) map[string]interface{} {
		m := map[string]interface{}{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := map[string]struct {
		targets []map[string]interface{}
		extra   map[string]interface{}
		want    string
	}{
		"no target":             {nil, nil, "at least one target"},
		"unknown format":        {[]map[string]interface{}{target("format", "iso")}, nil, `target[0].format "iso"`},
		"unknown compression":   {[]map[string]interface{}{target("format", "raw", "compression", "lz4")}, nil, `compression "lz4"`},
		"xz qcow2":              {[]map[string]interface{}{target("format", "qcow2", "compression", "xz")}, nil, "does not apply to qcow2"},
		"compressed gce":        {[]map[string]interface{}{target("format", "gce", "compression", "zstd")}, nil, "tar.gz already"},
		"fixed vmdk":            {[]map[string]interface{}{target("format", "vmdk", "fixed", true)}, nil, "only applies to format \"vhd\""},
		"subformat on vhdx":     {[]map[string]interface{}{target("format", "vhdx", "subformat", "dynamic")}, nil, "only applies to format \"vmdk\""},
		"bad vmdk subformat":    {[]map[string]interface{}{target("format", "vmdk", "subformat", "twoGbMaxExtentSparse")}, nil, "subformat"},
		"two-file vmdk":         {[]map[string]interface{}{target("format", "vmdk", "subformat", "monolithicFlat")}, nil, `subformat "monolithicFlat" is not valid`},
		"path as name":          {[]map[string]interface{}{target("format", "raw", "name", "a/b")}, nil, "not a path"},
		"bad checksum":          {[]map[string]interface{}{target("format", "raw")}, map[string]interface{}{"checksum": "md5"}, `checksum "md5"`},
		"second target invalid": {[]map[string]interface{}{target("format", "raw"), target("format", "qcow3")}, nil, "target[1].format"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := map[string]interface{}{"target": tc.targets}
			for k, v := range tc.extra {
				cfg[k] = v
			}
			err := (&PostProcessor{}).Configure(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not mention %q", err, tc.want)
			}
		})
	}
}

func TestPlan_namesAndClashes(t *testing.T) {
	p := configure(t, map[string]interface{}{
		"packer_build_name": "web",
		"output_name":       "{{ .BuildName }}-{{ .ImageFormat }}",
		"target":            []map[string]interface{}{{"format": "vmdk"}, {"format": "raw", "compression": "zstd"}, {"format": "gce"}, {"format": "vhd", "name": "azure"}},
	})
	plans, err := p.plan("/out/web.qcow2", "/exports", map[string]interface{}{"ImageFormat": "qcow2"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pl := range plans {
		got = append(got, pl.Path)
	}
	want := "/exports/web-qcow2.vmdk,/exports/web-qcow2.raw.zst,/exports/web-qcow2.tar.gz,/exports/azure.vhd"
	if strings.Join(got, ",") != want {
		t.Fatalf("paths %v\nwant %s", got, want)
	}
	// Different templates that render to one name pass validate; the plan
	// refuses them.
	clash := configure(t, map[string]interface{}{"packer_build_name": "web", "output_name": "{{ .BuildName }}", "target": []map[string]interface{}{{"format": "raw"}, {"format": "raw", "name": "web"}}})
	if _, err := clash.plan("/out/web.qcow2", "/out", nil); err == nil || !strings.Contains(err.Error(), "both write") {
		t.Fatalf("clash not refused: %v", err)
	}
	self := configure(t, map[string]interface{}{"target": []map[string]interface{}{{"format": "qcow2"}}})
	if _, err := self.plan("/out/web.qcow2", "/out", nil); err == nil || !strings.Contains(err.Error(), "overwrite the input") {
		t.Fatalf("overwriting the input not refused: %v", err)
	}
}

// A target's name is a template like output_name, with the build's name:
// it used to be rendered when the post-processor was configured, before
// the build, and .BuildName came out as "<no value>". The target's other
// options are still interpolated then.
func TestPlan_targetNameSeesTheBuildName(t *testing.T) {
	p := configure(t, map[string]interface{}{
		"packer_build_name": "web",
		"output_name":       "{{ .BuildName }}-all",
		"target": []map[string]interface{}{
			{"format": "{{ lower `VMDK` }}", "name": "{{ .BuildName }}-{{ .ImageFormat }}"},
			{"format": "raw"},
		},
	})
	plans, err := p.plan("/out/web.qcow2", "/exports", map[string]interface{}{"ImageFormat": "qcow2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := plans[0].Path + "," + plans[1].Path; got != "/exports/web-qcow2.vmdk,/exports/web-all.raw" {
		t.Fatalf("paths %s, want /exports/web-qcow2.vmdk,/exports/web-all.raw", got)
	}
}

func TestStringKeys_convertsRPCMaps(t *testing.T) {
	in := map[interface{}]interface{}{"ImagePath": "/o/a.qcow2", "Nested": map[interface{}]interface{}{"k": []interface{}{map[interface{}]interface{}{"x": 1}}}}
	out := stringKeys(in)
	nested := out["Nested"].(map[string]interface{})
	if out["ImagePath"] != "/o/a.qcow2" || nested["k"].([]interface{})[0].(map[string]interface{})["x"] != 1 {
		t.Fatalf("%#v", out)
	}
}

// testImage makes a small qcow2 disk (an MBR with one partition) with
// data, a hole and a size that is not a whole MiB.
func testImage(t *testing.T) string {
	t.Helper()
	raw := testRawDisk(t, filepath.Join(t.TempDir(), "src.raw"))
	img := filepath.Join(filepath.Dir(raw), "base.qcow2")
	if out, err := exec.Command("qemu-img", "convert", "-O", "qcow2", raw, img).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	os.WriteFile(img+".sha256", []byte("x  base.qcow2\n"), 0o644)
	return img
}

// testRawDisk writes a raw disk of 20 MiB + 512 bytes: an MBR whose one
// Linux partition starts at 1 MiB, and data at 3 MiB.
func testRawDisk(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (make deps)")
	}
	mbr := make([]byte, 512)
	entry := mbr[446:]
	entry[4] = 0x83                                  // Linux
	binary.LittleEndian.PutUint32(entry[8:], 2048)   // first LBA
	binary.LittleEndian.PutUint32(entry[12:], 38912) // sectors
	mbr[510], mbr[511] = 0x55, 0xAA
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(20<<20 + 512)
	f.WriteAt(mbr, 0)
	f.WriteAt(bytes.Repeat([]byte("golden image "), 80000), 3<<20)
	f.Close()
	return path
}

type fileArtifact struct{ files []string }

func (a fileArtifact) BuilderId() string { return "test" }
func (a fileArtifact) Files() []string   { return a.files }
func (a fileArtifact) Id() string        { return "id" }
func (a fileArtifact) String() string    { return "test artifact" }
func (a fileArtifact) State(name string) interface{} {
	if name == "generated_data" {
		return map[interface{}]interface{}{"ImageFormat": "qcow2"}
	}
	return nil
}
func (a fileArtifact) Destroy() error { return nil }

// qemuInfo reads an image as format (a fixed VHD cannot be probed: it
// looks like raw data with a footer).
func qemuInfo(t *testing.T, path, format string) map[string]interface{} {
	out, err := exec.Command("qemu-img", "info", "--output=json", "-f", format, path).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	var m map[string]interface{}
	json.Unmarshal(out, &m)
	return m
}

func TestPostProcess_everyFormatHoldsTheSameDisk(t *testing.T) {
	img := testImage(t)
	out := filepath.Join(t.TempDir(), "exports")
	p := configure(t, map[string]interface{}{
		"output_directory": out,
		"target": []map[string]interface{}{
			{"format": "vmdk"}, {"format": "vhdx"}, {"format": "vhd", "fixed": true}, {"format": "vdi"},
			{"format": "raw", "compression": "zstd"}, {"format": "qcow2", "compression": "zstd", "name": "inner"}, {"format": "gce"},
		},
	})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	artifact, keep, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{img + ".sha256", img}})
	if err != nil {
		t.Fatal(err)
	}
	if keep {
		t.Fatal("the post-processor must leave keep_input_artifact to Packer")
	}
	files := artifact.Files()
	if len(files) != 8 || filepath.Base(files[7]) != "SHA256SUMS" {
		t.Fatalf("files %v", files)
	}
	sumCheck := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sumCheck.Dir = out
	if o, err := sumCheck.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, o)
	}

	formats := map[string]string{"base.vmdk": "vmdk", "base.vhdx": "vhdx", "base.vhd": "vpc", "base.vdi": "vdi", "inner.qcow2": "qcow2"}
	for name, format := range formats {
		path := filepath.Join(out, name)
		if format != "vpc" {
			probe, _ := exec.Command("qemu-img", "info", "--output=json", path).Output()
			if !strings.Contains(string(probe), `"format": "`+format+`"`) {
				t.Errorf("qemu-img does not detect %s as %s:\n%s", name, format, probe)
			}
		}
		if o, err := exec.Command("qemu-img", "compare", "-q", "-f", "qcow2", "-F", format, img, path).CombinedOutput(); err != nil {
			t.Errorf("%s differs from the source: %v %s", name, err, o)
		}
	}
	if sub := qemuInfo(t, filepath.Join(out, "base.vmdk"), "vmdk")["format-specific"].(map[string]interface{})["data"].(map[string]interface{})["create-type"]; sub != "streamOptimized" {
		t.Errorf("vmdk create-type %v", sub)
	}
	if ct := qemuInfo(t, filepath.Join(out, "inner.qcow2"), "qcow2")["format-specific"].(map[string]interface{})["data"].(map[string]interface{})["compression-type"]; ct != "zstd" {
		t.Errorf("qcow2 compression type %v, want zstd", ct)
	}
	vhd := qemuInfo(t, filepath.Join(out, "base.vhd"), "vpc")
	if st, _ := os.Stat(filepath.Join(out, "base.vhd")); st.Size() != int64(vhd["virtual-size"].(float64))+512 {
		t.Errorf("VHD of %d bytes for %v virtual: not a fixed VHD", st.Size(), vhd["virtual-size"])
	}
	if size := int64(vhd["virtual-size"].(float64)); size%(1<<20) != 0 || size < 20<<20+512 {
		t.Errorf("fixed VHD virtual size %d is not a whole MiB at least the source's", size)
	}

	// Outer compression and the GCE tarball decompress to the same disk.
	raw := filepath.Join(t.TempDir(), "disk.raw")
	zf, _ := os.Open(filepath.Join(out, "base.raw.zst"))
	zr, _ := zstd.NewReader(zf)
	writeAll(t, raw, zr)
	zf.Close()
	if o, err := exec.Command("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw", img, raw).CombinedOutput(); err != nil {
		t.Errorf("raw.zst differs: %v %s", err, o)
	}
	gf, _ := os.Open(filepath.Join(out, "base.tar.gz"))
	gz, _ := gzip.NewReader(gf)
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "disk.raw" || hdr.Format != tar.FormatGNU {
		t.Fatalf("gce tarball entry %+v, %v", hdr, err)
	}
	gceRaw := filepath.Join(t.TempDir(), "disk.raw")
	writeAll(t, gceRaw, tr)
	if _, err := tr.Next(); err != io.EOF {
		t.Error("the gce tarball holds more than disk.raw")
	}
	if o, err := exec.Command("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw", img, gceRaw).CombinedOutput(); err != nil {
		t.Errorf("gce disk.raw differs: %v %s", err, o)
	}

	images, ok := artifact.State(registryimage.ArtifactStateURI).([]*registryimage.Image)
	if !ok || len(images) != 7 || images[0].ProviderName != "kvm" || images[0].Labels[images[0].ImageID+".format"] != "vmdk" || images[0].ImageID == "" {
		t.Fatalf("HCP images %#v", images)
	}
	if gd := artifact.State("generated_data").(map[string]interface{}); gd["ImageFormat"] != "qcow2" {
		t.Fatalf("generated data not carried forward: %#v", gd)
	}
}

func writeAll(t *testing.T, path string, r io.Reader) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, r); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestPostProcess_aFailureLeavesNoPartialOutput(t *testing.T) {
	img := testImage(t)
	out := t.TempDir()
	// The second target cannot be written: its name is taken by a directory.
	os.Mkdir(filepath.Join(out, "blocked.vdi"), 0o755)
	p := configure(t, map[string]interface{}{
		"output_directory": out,
		"parallel":         1,
		"target":           []map[string]interface{}{{"format": "vmdk"}, {"format": "vdi", "name": "blocked"}, {"format": "raw"}},
	})
	p.config.PackerForce = true // get past the exists check, fail at the rename
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	if _, _, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{img}}); err == nil {
		t.Fatal("export succeeded into a blocked path")
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.Name() != "blocked.vdi" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestPostProcess_refusesAnArtifactWithoutADisk(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("hello"), 0o644)
	p := configure(t, map[string]interface{}{"target": []map[string]interface{}{{"format": "vmdk"}}})
	_, _, _, err := p.PostProcess(context.Background(), &packersdk.BasicUi{Writer: io.Discard, ErrorWriter: io.Discard}, fileArtifact{[]string{notes}})
	if err == nil || !strings.Contains(err.Error(), "no disk image") || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("error %v", err)
	}
}

// A text file with a disk's extension is raw data to qemu-img, not a disk.
func TestPostProcess_refusesRawDataNamedLikeADisk(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (make deps)")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "x.qcow2")
	os.WriteFile(fake, bytes.Repeat([]byte("not a disk image\n"), 100), 0o644)
	p := configure(t, map[string]interface{}{"output_directory": filepath.Join(dir, "out"), "target": []map[string]interface{}{{"format": "vmdk"}}})
	_, _, _, err := p.PostProcess(context.Background(), &packersdk.BasicUi{Writer: io.Discard, ErrorWriter: io.Discard}, fileArtifact{[]string{fake}})
	if err == nil || !strings.Contains(err.Error(), "x.qcow2 is not a disk image") || !strings.Contains(err.Error(), "no partition table") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "x.vmdk")); err == nil {
		t.Fatal("an output was written from a text file")
	}
}

func TestPostProcess_existingOutputNeedsForce(t *testing.T) {
	img := testImage(t)
	os.WriteFile(filepath.Join(filepath.Dir(img), "base.vdi"), []byte("old"), 0o644)
	p := configure(t, map[string]interface{}{"target": []map[string]interface{}{{"format": "vdi"}}})
	_, _, _, err := p.PostProcess(context.Background(), &packersdk.BasicUi{Writer: io.Discard, ErrorWriter: io.Discard}, fileArtifact{[]string{img}})
	if err == nil || !strings.Contains(err.Error(), "-force") {
		t.Fatalf("error %v", err)
	}
}

// A raw disk with a partition table is still an input, chosen over a text
// file that merely carries a disk's extension.
func TestFindDiskImage_takesARawDiskWithAPartitionTable(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.img")
	os.WriteFile(notes, []byte("hello"), 0o644)
	disk := testRawDisk(t, filepath.Join(dir, "disk.img"))
	got, info, err := findDiskImage(context.Background(), qemuimg.New("qemu-img"), []string{notes, disk})
	if err != nil || got != disk || info.Format != "raw" {
		t.Fatalf("got %s %+v %v, want %s", got, info, err, disk)
	}
}

package export

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// additionalDisk writes a qcow2 data disk named like the kvm builder's.
func additionalDisk(t *testing.T, image, label string) string {
	t.Helper()
	path := strings.TrimSuffix(image, filepath.Ext(image)) + "-" + label + ".qcow2"
	raw := filepath.Join(t.TempDir(), "data.raw")
	os.WriteFile(raw, bytes.Repeat([]byte("data disk "+label+" "), 100000), 0o644)
	if out, err := exec.Command("qemu-img", "convert", "-O", "qcow2", raw, path).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return path
}

func TestPostProcess_includeAdditionalDisksExportsEachDiskToEveryTarget(t *testing.T) {
	img := testImage(t)
	disk := additionalDisk(t, img, "data")
	out := filepath.Join(t.TempDir(), "exports")
	p := configure(t, map[string]interface{}{
		"output_directory":         out,
		"include_additional_disks": true,
		"target":                   []map[string]interface{}{{"format": "vmdk"}, {"format": "raw", "name": "flat"}},
	})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	artifact, _, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{img, img + ".sha256", disk}})
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(filepath.Base(img), filepath.Ext(img))
	var names []string
	for _, f := range artifact.Files() {
		names = append(names, filepath.Base(f))
	}
	want := []string{base + ".vmdk", "flat.raw", base + "-data.vmdk", "flat-data.raw", "SHA256SUMS"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", names, want)
	}
	// The disk's outputs hold the disk, not the image.
	compare := exec.Command("qemu-img", "compare", disk, filepath.Join(out, "flat-data.raw"))
	if o, err := compare.CombinedOutput(); err != nil {
		t.Fatalf("flat-data.raw differs from the additional disk: %v\n%s", err, o)
	}
	sums := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sums.Dir = out
	if o, err := sums.CombinedOutput(); err != nil || strings.Count(string(o), ": OK") != 4 {
		t.Fatalf("sha256sum -c: %v\n%s", err, o)
	}
}

func TestPostProcess_additionalDisksAreLeftOutByDefault(t *testing.T) {
	img := testImage(t)
	disk := additionalDisk(t, img, "data")
	out := filepath.Join(t.TempDir(), "exports")
	p := configure(t, map[string]interface{}{"output_directory": out, "target": []map[string]interface{}{{"format": "raw"}}})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	artifact, _, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{img, disk}})
	if err != nil {
		t.Fatal(err)
	}
	if files := artifact.Files(); len(files) != 2 {
		t.Fatalf("files %v: want the image and SHA256SUMS", files)
	}
}

func TestPostProcess_aFailedAdditionalDiskLeavesNoOutput(t *testing.T) {
	img := testImage(t)
	disk := additionalDisk(t, img, "data")
	out := t.TempDir()
	base := strings.TrimSuffix(filepath.Base(img), filepath.Ext(img))
	// The disk's output name is taken by a directory.
	os.Mkdir(filepath.Join(out, base+"-data.raw"), 0o755)
	p := configure(t, map[string]interface{}{"output_directory": out, "include_additional_disks": true,
		"target": []map[string]interface{}{{"format": "raw"}}})
	p.config.PackerForce = true
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	if _, _, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{img, disk}}); err == nil {
		t.Fatal("export succeeded into a blocked path")
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.Name() != base+"-data.raw" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestConfigure_includeAdditionalDisksNeedsMultiDiskTargets(t *testing.T) {
	for _, format := range []string{"ova", "gce"} {
		p := &PostProcessor{}
		err := p.Configure(map[string]interface{}{"include_additional_disks": true, "target": []map[string]interface{}{{"format": "vmdk"}, {"format": format}}})
		if err == nil || !strings.Contains(err.Error(), "include_additional_disks does not apply to target[1]") {
			t.Errorf("%s: error %v", format, err)
		}
	}
}

func TestPostProcess_includeAdditionalDisksWithoutDisksSaysSo(t *testing.T) {
	img := testImage(t)
	p := configure(t, map[string]interface{}{"output_directory": t.TempDir(), "include_additional_disks": true,
		"target": []map[string]interface{}{{"format": "raw"}}})
	ui := &packersdk.BasicUi{Reader: new(bytes.Buffer), Writer: new(bytes.Buffer), ErrorWriter: new(bytes.Buffer)}
	_, _, _, err := p.PostProcess(context.Background(), ui, fileArtifact{[]string{img, img + ".sha256"}})
	if err == nil || !strings.Contains(err.Error(), "no additional disk") {
		t.Fatalf("error %v", err)
	}
}

func TestDiskSuffix(t *testing.T) {
	for disk, want := range map[string]string{"/o/golden-data.qcow2": "-data", "/o/other.qcow2": "-other", "/o/golden-.qcow2": "-golden-"} {
		if got := diskSuffix("/o/golden.qcow2", disk); got != want {
			t.Errorf("%s: %q, want %q", disk, got, want)
		}
	}
}

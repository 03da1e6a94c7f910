package export

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// One build for the whole chain as users run it: kvm → kvm-export (qcow2
// and vmdk) → the official vagrant post-processor for libvirt, and vagrant
// straight after kvm, registered with HCP Packer (a loopback stand-in for
// its API). The boxes are checked as vagrant-libvirt reads them, and the
// registry's build as packer core leaves it.
func TestAccChain_vagrantBoxesAndHCPPackerRegistry(t *testing.T) {
	env := packertest.Setup(t)
	env.InstallVagrant(t)
	registry := packertest.StartHCPRegistry(t)
	sourceSHA512 := fileHex(t, env.Image, sha512.New())
	dir := packertest.WriteTemplate(t, fmt.Sprintf(`
source "kvm" "golden" {
  source_image_url      = %q
  source_image_checksum = "sha512:%s"
  ssh_username          = "packer"
  memory                = 1024
}
build {
  hcp_packer_registry {
    bucket_name = "kvm-golden"
  }
  sources = ["source.kvm.golden"]
  post-processors {
    post-processor "kvm-export" {
      output_directory    = "exports"
      target { format = "qcow2" }
      target { format = "vmdk" }
      keep_input_artifact = true
    }
    post-processor "vagrant" {
      provider_override   = "libvirt"
      output              = "boxes/exported.box"
      compression_level   = 1
      keep_input_artifact = true
    }
  }
  post-processor "vagrant" {
    provider_override = "libvirt"
    output            = "boxes/built.box"
    compression_level = 1
  }
}
`, env.Image, sourceSHA512))
	res := env.WithEnv(registry.Env()...).Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("the build failed")
	}
	built := filepath.Join(dir, "output-golden", "golden.qcow2")
	exportedQcow2 := filepath.Join(dir, "exports", "golden.qcow2")
	exportedVmdk := filepath.Join(dir, "exports", "golden.vmdk")

	checkLibvirtBox(t, filepath.Join(dir, "boxes", "built.box"), built)
	checkLibvirtBox(t, filepath.Join(dir, "boxes", "exported.box"), exportedQcow2)

	if u := registry.Unexpected(); len(u) != 0 {
		t.Errorf("packer made calls the HCP stand-in does not serve: %v", u)
	}
	builds := registry.Builds()
	if len(builds) != 1 {
		t.Fatalf("the registry holds %d builds, want 1: %+v", len(builds), builds)
	}
	b := builds[0]
	if b.ComponentType != "kvm.golden" || b.Status != "BUILD_DONE" || b.Platform != "kvm" {
		t.Errorf("build %s: component %q status %q platform %q", b.ID, b.ComponentType, b.Status, b.Platform)
	}
	want := map[string]string{
		fileHex(t, built, sha256.New()):         "qcow2",
		fileHex(t, exportedQcow2, sha256.New()): "qcow2",
		fileHex(t, exportedVmdk, sha256.New()):  "vmdk",
	}
	files := map[string]string{}
	for path := range map[string]bool{built: true, exportedQcow2: true, exportedVmdk: true} {
		files[fileHex(t, path, sha256.New())] = filepath.Base(filepath.Dir(path)) + "/" + filepath.Base(path)
	}
	var got []string
	for _, a := range b.Artifacts {
		got = append(got, a.ExternalIdentifier)
		if a.Region != "local" {
			t.Errorf("image %s: region %q, want local", a.ExternalIdentifier, a.Region)
		}
		if b.Labels[a.ExternalIdentifier+".format"] != want[a.ExternalIdentifier] ||
			!strings.HasSuffix(b.Labels[a.ExternalIdentifier+".file"], files[a.ExternalIdentifier]) {
			t.Errorf("image %s (%s) is labelled format %q file %q", a.ExternalIdentifier, files[a.ExternalIdentifier],
				b.Labels[a.ExternalIdentifier+".format"], b.Labels[a.ExternalIdentifier+".file"])
		}
	}
	var wantIDs []string
	for id := range want {
		wantIDs = append(wantIDs, id)
	}
	sort.Strings(got)
	sort.Strings(wantIDs)
	if strings.Join(got, " ") != strings.Join(wantIDs, " ") {
		t.Errorf("registered images %v, want the builder's image and both outputs %v", got, wantIDs)
	}
	// Packer links a build to its parent version when the source ID equals
	// the parent's image ID: the same bare SHA-256 form, whatever digest the
	// template verified the source with.
	if sourceID := fileHex(t, env.Image, sha256.New()); b.SourceExternalIdentifier != sourceID {
		t.Errorf("source ID %q, want the source image's SHA-256 %q, the form image IDs take", b.SourceExternalIdentifier, sourceID)
	}
	for _, label := range []string{"virtual_size", "accelerator", "source_url"} {
		if b.Labels[label] == "" {
			t.Errorf("label %s is missing: %v", label, b.Labels)
		}
	}
}

// checkLibvirtBox reads a box as vagrant-libvirt does (HandleBoxImage): a
// metadata.json for provider libvirt that either lists disks (format v2;
// each a qcow2 file in the box, as qemu-img reports it) or, without
// disks, declares format qcow2 and a virtual_size in GB for box.img
// (format v1), and a Vagrantfile. The box must hold the image alone, byte
// for byte.
func checkLibvirtBox(t *testing.T, box, image string) {
	t.Helper()
	dir := t.TempDir()
	entries := untarGz(t, box, dir)
	var meta struct {
		Provider    string  `json:"provider"`
		Format      string  `json:"format"`
		VirtualSize float64 `json:"virtual_size"`
		Disks       []struct {
			Path string `json:"path"`
		} `json:"disks"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil || json.Unmarshal(data, &meta) != nil || meta.Provider != "libvirt" {
		t.Fatalf("%s: metadata.json %q (%v), want provider libvirt", box, data, err)
	}
	disks := []string{"box.img"}
	if len(meta.Disks) > 0 {
		disks = nil
		for _, d := range meta.Disks {
			disks = append(disks, d.Path)
		}
	} else {
		_, virtual := probeImage(t, image)
		virtualGB := virtual / (1 << 30)
		if meta.Format != "qcow2" || meta.VirtualSize < virtualGB {
			t.Errorf("%s: format %q virtual_size %v GB, want qcow2 and at least %.2f", box, meta.Format, meta.VirtualSize, virtualGB)
		}
	}
	if len(disks) != 1 {
		t.Fatalf("%s declares disks %v, want the image alone", box, disks)
	}
	disk := filepath.Join(dir, disks[0])
	if format, _ := probeImage(t, disk); format != "qcow2" {
		t.Errorf("%s: disk %s is %q to qemu-img, want qcow2", box, disks[0], format)
	}
	if fileHex(t, disk, sha256.New()) != fileHex(t, image, sha256.New()) {
		t.Errorf("%s: disk %s is not %s", box, disks[0], image)
	}
	vagrantfile, _ := os.ReadFile(filepath.Join(dir, "Vagrantfile"))
	if !regexp.MustCompile(`libvirt\.driver = "(qemu|kvm)"`).Match(vagrantfile) {
		t.Errorf("%s: Vagrantfile sets no libvirt driver:\n%s", box, vagrantfile)
	}
	sort.Strings(entries)
	wantEntries := []string{"Vagrantfile", disks[0], "metadata.json"}
	sort.Strings(wantEntries)
	if strings.Join(entries, " ") != strings.Join(wantEntries, " ") {
		t.Errorf("%s holds %v, want %v", box, entries, wantEntries)
	}
}

// untarGz extracts a box (a gzip'd tar) into dir and lists its files.
func untarGz(t *testing.T, path, dir string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := filepath.Clean(h.Name)
		if strings.Contains(name, "..") || filepath.IsAbs(name) {
			t.Fatalf("%s: entry %q outside the box", path, h.Name)
		}
		names = append(names, name)
		out, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
}

// probeImage is the format and virtual size qemu-img finds in a file, as
// vagrant-libvirt asks it (without naming a format).
func probeImage(t *testing.T, path string) (string, float64) {
	t.Helper()
	out, err := exec.Command("qemu-img", "info", "--output=json", path).Output()
	var info struct {
		Format      string  `json:"format"`
		VirtualSize float64 `json:"virtual-size"`
	}
	if err != nil || json.Unmarshal(out, &info) != nil {
		t.Fatalf("qemu-img info %s: %v %s", path, err, out)
	}
	return info.Format, info.VirtualSize
}

func fileHex(t *testing.T, path string, h interface {
	io.Writer
	Sum([]byte) []byte
}) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

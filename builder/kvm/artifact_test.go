package kvm

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
	"github.com/mitchellh/mapstructure"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

func testArtifact(t *testing.T) *Artifact {
	dir := t.TempDir()
	image := filepath.Join(dir, "base.qcow2")
	os.WriteFile(image, []byte("img"), 0o644)
	os.WriteFile(image+".sha256", []byte("sum"), 0o644)
	return &Artifact{
		ImagePath: image, ChecksumPath: image + ".sha256", Checksum: "abc123", Format: "qcow2",
		VirtualSize: 3 << 30, Accelerator: "tcg", Arch: "aarch64", SourceURL: "https://example.org/debian.qcow2",
		SourceID:      "feed",
		GeneratedData: map[string]interface{}{"ImagePath": image, "Accelerator": "tcg"},
	}
}

func TestArtifact_hcpMetadataDecodesAsPackerCoreDoesIt(t *testing.T) {
	local := testArtifact(t)
	remote := packertest.ArtifactOverRPC(t, local)
	var images []registryimage.Image
	decoder, _ := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &images, WeaklyTypedInput: true})
	if err := decoder.Decode(remote.State(registryimage.ArtifactStateURI)); err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 {
		t.Fatalf("decoded %d images, want 1", len(images))
	}
	img := images[0]
	if img.ImageID != "abc123" || img.ProviderName != "kvm" || img.ProviderRegion != "local" || img.SourceImageID != "feed" {
		t.Fatalf("image %+v", img)
	}
	want := map[string]string{
		"abc123.format": "qcow2", "abc123.file": local.ImagePath,
		"virtual_size": "3221225472", "accelerator": "tcg", "source_url": "https://example.org/debian.qcow2",
		"arch": "aarch64",
	}
	if !reflect.DeepEqual(img.Labels, want) {
		t.Fatalf("labels %v, want %v", img.Labels, want)
	}
}

// vagrantLibvirtDisks is the rule by which the vagrant post-processor's
// libvirt provider picks an artifact's disks (packer-plugin-vagrant
// post-processor/vagrant/libvirt.go): v1.1 and later take every file whose
// base name starts with diskName, each declared with diskType; v1.0 took
// the file whose path ends in "/"+diskName.
func vagrantLibvirtDisks(a packer.Artifact) (v11, v10 []string) {
	name, _ := a.State("diskName").(string)
	for _, f := range a.Files() {
		if strings.HasPrefix(filepath.Base(f), name) {
			v11 = append(v11, f)
		}
		if strings.HasSuffix(f, "/"+name) {
			v10 = append(v10, f)
		}
	}
	return v11, v10
}

func TestArtifact_vagrantLibvirtBoxesTheImageAloneNotItsChecksumFile(t *testing.T) {
	local := testArtifact(t)
	v11, v10 := vagrantLibvirtDisks(packertest.ArtifactOverRPC(t, local))
	want := []string{local.ImagePath}
	if !reflect.DeepEqual(v11, want) || !reflect.DeepEqual(v10, want) {
		t.Fatalf("vagrant 1.1 would box %v and vagrant 1.0 %v as disks, want only %v", v11, v10, want)
	}
}

func TestArtifact_answersTheQemuBuilderKeysForVagrant(t *testing.T) {
	remote := packertest.ArtifactOverRPC(t, testArtifact(t))
	if remote.State("diskName") != "base.qcow2" || remote.State("diskType") != "qcow2" ||
		remote.State("diskSize") != "3072M" || remote.State("domainType") != "tcg" {
		t.Fatalf("diskName %v diskType %v diskSize %v domainType %v", remote.State("diskName"),
			remote.State("diskType"), remote.State("diskSize"), remote.State("domainType"))
	}
	data, ok := remote.State("generated_data").(map[interface{}]interface{})
	if !ok || data["Accelerator"] != "tcg" {
		t.Fatalf("generated_data over RPC: %#v", remote.State("generated_data"))
	}
}

func TestArtifact_destroyRemovesTheImageAndItsChecksumFile(t *testing.T) {
	a := testArtifact(t)
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{a.ImagePath, a.ChecksumPath} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("%s survived Destroy", f)
		}
	}
}

// A build whose source is an image this builder made must name that image
// as its source exactly as the image's HCP Packer ID, or Packer never links
// the build to its parent version.
func TestSourceImageID_isTheParentImagesID(t *testing.T) {
	parentImage := filepath.Join(t.TempDir(), "parent.qcow2")
	if err := os.WriteFile(parentImage, []byte("a parent image"), 0o644); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("a parent image"))
	parent := &Artifact{ImagePath: parentImage, Checksum: hex.EncodeToString(digest[:])} // as stepSnapshot records it
	sha512 := "sha512:" + strings.Repeat("ab", 64)
	for _, configured := range []string{"sha256:" + parent.Id(), "SHA256:" + strings.ToUpper(parent.Id()), sha512, "file:SHA256SUMS", "none"} {
		got, err := sourceImageID(configured, parentImage)
		if err != nil {
			t.Fatal(err)
		}
		if got != parent.Id() {
			t.Errorf("source_image_checksum %q: SourceImageID %q, want the parent's ImageID %q", configured, got, parent.Id())
		}
	}
}

func TestBuildSourceImageID_hashesTheSourceOnceABuild(t *testing.T) {
	source := filepath.Join(t.TempDir(), "source.qcow2")
	if err := os.WriteFile(source, []byte("source image"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := new(multistep.BasicStateBag)
	keySourceImagePath.Put(state, source)
	first, err := buildSourceImageID(state, "none")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sourceImageID("none", source)
	if first != want {
		t.Fatalf("id %q, want the file's SHA-256 %q", first, want)
	}
	// The second caller (the artifact, after warm start's key) reuses the
	// first hash: a changed file would give another ID if it hashed again.
	if err := os.WriteFile(source, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again, err := buildSourceImageID(state, "none"); err != nil || again != first {
		t.Fatalf("second call %q %v, want the first build's %q", again, err, first)
	}
}

// kvm-export takes an overlay's backing file from the artifact: the one
// file an input image may name.
func TestArtifact_namesAnOverlaysBackingFileForTheExport(t *testing.T) {
	a := &Artifact{ImagePath: "/out/layer.qcow2", Format: "qcow2", BackingFile: "/cache/source.qcow2"}
	if got := a.State("kvm_backing_file"); got != "/cache/source.qcow2" {
		t.Errorf("kvm_backing_file %v", got)
	}
	if got := (&Artifact{ImagePath: "/out/img.qcow2"}).State("kvm_backing_file"); got != "" {
		t.Errorf("a standalone image names backing file %v", got)
	}
}

package export

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
	"github.com/mitchellh/mapstructure"

	"github.com/kvmforge/packer-plugin-kvm/builder/kvm"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// hcpImages decodes an artifact's HCP Packer state as Packer core does.
func hcpImages(t *testing.T, a packersdk.Artifact) []registryimage.Image {
	t.Helper()
	var images []registryimage.Image
	decoder, _ := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &images, WeaklyTypedInput: true})
	if err := decoder.Decode(a.State(registryimage.ArtifactStateURI)); err != nil {
		t.Fatal(err)
	}
	return images
}

func twoOutputs(dir string) *Artifact {
	return &Artifact{
		Outputs: []Output{
			{Path: filepath.Join(dir, "golden.qcow2"), Format: "qcow2", SHA256: "aaaa"},
			{Path: filepath.Join(dir, "golden.vmdk"), Format: "vmdk", SHA256: "bbbb"},
		},
		ChecksumFile: filepath.Join(dir, "SHA256SUMS"),
		Source:       filepath.Join(dir, "input.qcow2"), SourceSHA256: "cccc",
		VirtualSize:   3 << 30,
		GeneratedData: map[string]interface{}{"Accelerator": "tcg", "SourceImageURL": "http://127.0.0.1/debian.qcow2"},
	}
}

// Packer core merges the labels of all a build's images into one set (the
// later image's value wins): what tells one image from another must still
// be there afterwards, the kvm builder's image included, whose file name
// the qcow2 output often shares.
func TestArtifact_everyImagesLabelsSurvivePackerCoresMerge(t *testing.T) {
	builder := packertest.ArtifactOverRPC(t, &kvm.Artifact{ImagePath: "/build/golden.qcow2", Checksum: "dddd", Format: "qcow2", VirtualSize: 3 << 30, Accelerator: "tcg", SourceURL: "http://127.0.0.1/debian.qcow2"})
	images := append(hcpImages(t, builder), hcpImages(t, packertest.ArtifactOverRPC(t, twoOutputs("/out")))...)
	merged := map[string]string{}
	for _, img := range images {
		if img.ProviderName != "kvm" || img.ProviderRegion != "local" {
			t.Errorf("image %+v", img)
		}
		for k, v := range img.Labels {
			merged[k] = v
		}
	}
	want := map[string]string{
		"dddd.format": "qcow2", "dddd.file": "/build/golden.qcow2",
		"aaaa.format": "qcow2", "aaaa.file": "/out/golden.qcow2",
		"bbbb.format": "vmdk", "bbbb.file": "/out/golden.vmdk",
		"virtual_size": "3221225472", "source_image": "/out/input.qcow2",
		"accelerator": "tcg", "source_url": "http://127.0.0.1/debian.qcow2",
	}
	if !reflect.DeepEqual(merged, want) {
		t.Fatalf("the build's labels after the merge:\n%v\nwant\n%v", merged, want)
	}
}

// A build's images all name the cloud image the kvm build started from as
// their source, in the form of the kvm artifact's own SourceImageID, so the
// build's source ID is the same whichever image Packer reads last.
func TestArtifact_imagesNameTheSourceTheInputNamed(t *testing.T) {
	input := packertest.ArtifactOverRPC(t, &kvm.Artifact{ImagePath: "/out/input.qcow2", Checksum: "cccc", Format: "qcow2", SourceID: "5eed"})
	a := twoOutputs("/out")
	a.SourceImageID = upstreamSourceID(input)
	for _, img := range hcpImages(t, packertest.ArtifactOverRPC(t, a)) {
		if img.SourceImageID != "5eed" {
			t.Errorf("image %s: SourceImageID %q, want the kvm build's source 5eed", img.ImageID, img.SourceImageID)
		}
	}
	// An input that tells HCP Packer nothing is itself the source.
	a.SourceImageID = upstreamSourceID(packertest.ArtifactOverRPC(t, fileArtifact{[]string{"/in/x.qcow2"}}))
	for _, img := range hcpImages(t, packertest.ArtifactOverRPC(t, a)) {
		if img.SourceImageID != "cccc" {
			t.Errorf("image %s: SourceImageID %q, want the input's SHA-256 cccc", img.ImageID, img.SourceImageID)
		}
	}
}

// The vagrant post-processor's libvirt provider (packer-plugin-vagrant
// post-processor/vagrant/libvirt.go) boxes, as disks of type diskType,
// every artifact file whose base name starts with diskName (v1.1 and
// later) or the file whose path ends in "/"+diskName (v1.0), and
// vagrant-libvirt takes qcow2 disks only.
func TestArtifact_vagrantLibvirtBoxesTheQcow2OutputAlone(t *testing.T) {
	local := twoOutputs("/out")
	a := packertest.ArtifactOverRPC(t, local)
	name, _ := a.State("diskName").(string)
	var v11, v10 []string
	for _, f := range a.Files() {
		if strings.HasPrefix(filepath.Base(f), name) {
			v11 = append(v11, f)
		}
		if strings.HasSuffix(f, "/"+name) {
			v10 = append(v10, f)
		}
	}
	want := []string{"/out/golden.qcow2"}
	if !reflect.DeepEqual(v11, want) || !reflect.DeepEqual(v10, want) {
		t.Fatalf("vagrant 1.1 would box %v and vagrant 1.0 %v, want %v", v11, v10, want)
	}
	if a.State("diskType") != "qcow2" || a.State("diskSize") != "3072M" || a.State("domainType") != "tcg" {
		t.Fatalf("diskType %v diskSize %v domainType %v", a.State("diskType"), a.State("diskSize"), a.State("domainType"))
	}
}

func TestArtifact_vagrantDiskIsAQcow2NoOtherFileNameExtends(t *testing.T) {
	a := twoOutputs("/out")
	a.Outputs = append([]Output{
		{Path: "/out/golden.qcow2", Format: "qcow2"},
		{Path: "/out/golden.qcow2-copy.vmdk", Format: "vmdk"},
		{Path: "/out/small.qcow2", Format: "qcow2"},
	}, a.Outputs[1])
	if got := a.State("diskName"); got != "small.qcow2" {
		t.Fatalf("diskName %v, want small.qcow2 (golden.qcow2 starts another file's name)", got)
	}
	a.Outputs = a.Outputs[1:2] // a vmdk alone
	for _, key := range []string{"diskName", "diskType", "diskSize", "diskPaths", "domainType"} {
		if v := a.State(key); v != nil {
			t.Errorf("without a qcow2 output, %s = %v, want nothing to box", key, v)
		}
	}
}

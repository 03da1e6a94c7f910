package kvm

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
	packerrpc "github.com/hashicorp/packer-plugin-sdk/rpc"
	"github.com/mitchellh/mapstructure"
)

func testArtifact(t *testing.T) *Artifact {
	dir := t.TempDir()
	image := filepath.Join(dir, "base.qcow2")
	os.WriteFile(image, []byte("img"), 0o644)
	os.WriteFile(image+".sha256", []byte("sum"), 0o644)
	return &Artifact{
		ImagePath: image, ChecksumPath: image + ".sha256", Checksum: "abc123", Format: "qcow2",
		VirtualSize: 3 << 30, Accelerator: "tcg", SourceURL: "https://example.org/debian.qcow2",
		SourceID:      "sha512:feed",
		GeneratedData: map[string]interface{}{"ImagePath": image, "Accelerator": "tcg"},
	}
}

// overRPC serves the artifact through the SDK's RPC, as Packer core sees it
// from a plugin process.
func overRPC(t *testing.T, a packer.Artifact) packer.Artifact {
	t.Helper()
	serverConn, clientConn := net.Pipe()
	server, err := packerrpc.NewServer(serverConn)
	if err != nil {
		t.Fatal(err)
	}
	server.RegisterArtifact(a)
	go server.Serve()
	client, err := packerrpc.NewClient(clientConn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client.Artifact()
}

func TestArtifact_hcpMetadataDecodesAsPackerCoreDoesIt(t *testing.T) {
	remote := overRPC(t, testArtifact(t))
	var images []registryimage.Image
	decoder, _ := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &images, WeaklyTypedInput: true})
	if err := decoder.Decode(remote.State(registryimage.ArtifactStateURI)); err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 {
		t.Fatalf("decoded %d images, want 1", len(images))
	}
	img := images[0]
	if img.ImageID != "abc123" || img.ProviderName != "kvm" || img.ProviderRegion != "local" || img.SourceImageID != "sha512:feed" {
		t.Fatalf("image %+v", img)
	}
	for k, want := range map[string]string{"format": "qcow2", "virtual_size": "3221225472", "accelerator": "tcg", "source_url": "https://example.org/debian.qcow2"} {
		if img.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, img.Labels[k], want)
		}
	}
}

func TestArtifact_answersTheQemuBuilderKeysForVagrant(t *testing.T) {
	remote := overRPC(t, testArtifact(t))
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

func TestArtifact_destroyRemovesItsFiles(t *testing.T) {
	a := testArtifact(t)
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files() {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("%s survived Destroy", f)
		}
	}
}

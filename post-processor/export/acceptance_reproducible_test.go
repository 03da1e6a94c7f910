package export

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// Two kvm-export post-processors of one build export the test image to
// every target, one after the other into two directories: through the
// real packer CLI and plugin, the SHA256SUMS are identical. The file
// builder hands over the image without booting it.
func TestAccExport_reproducibleThroughPacker(t *testing.T) {
	env := packertest.Setup(t)
	targets := `
    target { format = "vmdk" }
    target {
      format    = "vmdk"
      subformat = "monolithicSparse"
      name      = "workstation"
    }
    target { format = "vhdx" }
    target {
      format = "vhd"
      fixed  = true
    }
    target { format = "vdi" }
    target { format = "qcow2" }
    target { format = "gce" }
    target { format = "ova" }
    keep_input_artifact = true`
	dir := packertest.WriteTemplate(t, fmt.Sprintf(`
source "file" "image" {
  source = %q
  target = "input.qcow2"
}
build {
  sources = ["source.file.image"]
  post-processor "kvm-export" {
    output_directory = "first"
%s
  }
  post-processor "kvm-export" {
    output_directory = "second"
%s
  }
}
`, env.Image, targets, targets))
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("build with two kvm-exports failed")
	}
	first, err := os.ReadFile(filepath.Join(dir, "first", "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(dir, "second", "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) || len(first) == 0 {
		t.Fatalf("two exports of one image differ:\n%s\n%s", first, second)
	}
	t.Logf("SHA256SUMS of both exports:\n%s", first)
}

package export

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/hostileimage"
	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// Issue 20 item 1: a qcow2 whose backing file is a host file (a stand-in
// for /etc/shadow), handed to kvm-export by the file builder or by
// artifice, fails the build with the reason and writes no output.
func TestAccExport_refusesAnImageThatReadsAHostFile(t *testing.T) {
	env := packertest.Setup(t)
	secret := hostileimage.Secret(t)
	evil := hostileimage.BackedBy(t, t.TempDir(), secret)
	templates := map[string]string{
		"file builder": fmt.Sprintf(`
source "file" "image" {
  source = %q
  target = "input.qcow2"
}
build {
  sources = ["source.file.image"]
  post-processor "kvm-export" {
    output_directory = "exports"
    target { format = "raw" }
  }
}
`, evil),
		"artifice": fmt.Sprintf(`
source "null" "none" { communicator = "none" }
build {
  sources = ["source.null.none"]
  post-processors {
    post-processor "artifice" { files = [%q] }
    post-processor "kvm-export" {
      output_directory = "exports"
      target { format = "raw" }
    }
  }
}
`, evil),
	}
	for name, tmpl := range templates {
		t.Run(name, func(t *testing.T) {
			dir := packertest.WriteTemplate(t, tmpl)
			res := env.Run(t, dir, "build", ".")
			if res.ExitCode == 0 {
				t.Fatal("the export of an image backed by a host file succeeded")
			}
			for _, want := range []string{"kvm-export: ", "is not a self-contained image", "backing file " + secret} {
				if !strings.Contains(res.Output, want) {
					t.Errorf("the output lacks %q", want)
				}
			}
			entries, _ := os.ReadDir(filepath.Join(dir, "exports"))
			for _, e := range entries {
				t.Errorf("written: exports/%s", e.Name())
			}
		})
	}
}

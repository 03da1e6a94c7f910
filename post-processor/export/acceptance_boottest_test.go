package export

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// One kvm build exported to every target with boot tests on: each target
// whose hardware the Debian cloud kernel drives boots; `vdi` (VirtualBox's
// SATA AHCI and e1000, which that kernel has no driver for) does not, and,
// in `warn` mode, says so without failing the build. Nothing of the tests
// is left behind.
func TestAccExport_bootTestOfEveryTarget(t *testing.T) {
	env := packertest.Setup(t)
	before := bootTestLeftovers(t)
	dir := packertest.WriteTemplate(t, fmt.Sprintf(`
source "kvm" "golden" {
  source_image_url      = %q
  source_image_checksum = "none"
  ssh_username          = "packer"
  memory                = 1024
}
build {
  sources = ["source.kvm.golden"]
  post-processor "kvm-export" {
    output_directory  = "exports"
    boot_test         = "on"
    boot_test_timeout = "8m"
    target { format = "qcow2" }
    target {
      format      = "raw"
      compression = "zstd"
    }
    target { format = "vmdk" }
    target { format = "vhdx" }
    target {
      format = "vhd"
      fixed  = true
    }
    target {
      format    = "vdi"
      boot_test = "warn"
    }
    target { format = "gce" }
    target { format = "ova" }
  }
}
`, env.Image))
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("the build failed: a target that should boot did not, or the vdi's warning failed it")
	}
	for _, name := range []string{"golden.qcow2", "golden.raw.zst", "golden.vmdk", "golden.vhdx", "golden.vhd", "golden.tar.gz", "golden.ova"} {
		m := regexp.MustCompile(`Boot test of ` + regexp.QuoteMeta(name) + ` passed in (\S+)`).FindStringSubmatch(res.Output)
		if m == nil {
			t.Errorf("%s: no pass reported", name)
			continue
		}
		t.Logf("boot test of %s: %s", name, m[1])
	}
	warning := regexp.MustCompile(`Warning: boot test of golden\.vdi failed after \S+ on VirtualBox defaults: pc machine, SATA AHCI disk \(ich9-ahci\), e1000 network card, BIOS firmware, \w+ accelerator: the guest's kernel did not find its root disk`)
	if !warning.MatchString(res.Output) {
		t.Errorf("the vdi's failure does not say its kernel found no root disk on VirtualBox's hardware")
	}
	if !strings.Contains(res.Output, "Last 25 lines of the serial console") {
		t.Error("the vdi's failure shows no serial console")
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = filepath.Join(dir, "exports")
	if o, err := check.CombinedOutput(); err != nil {
		t.Errorf("the outputs changed or are gone after the boot tests: %v\n%s", err, o)
	}
	if after := bootTestLeftovers(t); len(after) != len(before) {
		t.Errorf("boot tests left behind %v", after)
	}
	if out, err := exec.Command("pgrep", "-f", "packer-kvm-boottest-").Output(); err == nil {
		t.Errorf("QEMU processes of the boot tests still run: %s", out)
	}
}

func bootTestLeftovers(t *testing.T) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), "packer-kvm-boottest-*"))
	return m
}

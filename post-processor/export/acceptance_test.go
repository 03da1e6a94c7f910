package export

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

func TestMain(m *testing.M) { packertest.Main(m) }

// The kvm builder's image goes through kvm-export to every target.
func TestAccExport_chainedAfterTheKVMBuilder(t *testing.T) {
	env := packertest.Setup(t)
	dir := packertest.WriteTemplate(t, fmt.Sprintf(`
source "kvm" "golden" {
  source_image_url      = %q
  source_image_checksum = "none"
  ssh_username          = "packer"
  memory                = 1024
}
build {
  sources = ["source.kvm.golden"]
  provisioner "shell" { inline = ["echo exported | sudo tee /etc/exported >/dev/null"] }
  post-processor "kvm-export" {
    output_directory = "exports"
    target { format = "vmdk" }
    target { format = "vhdx" }
    target {
      format = "vhd"
      fixed  = true
    }
    target { format = "vdi" }
    target {
      format      = "raw"
      compression = "zstd"
    }
    target { format = "gce" }
    target { format = "ova" }
    checksum            = "sha256"
    keep_input_artifact = true
  }
}
`, env.Image))
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("build with kvm-export failed")
	}
	out := filepath.Join(dir, "exports")
	source := filepath.Join(dir, "output-golden", "golden.qcow2")
	if _, err := os.Stat(source); err != nil {
		t.Fatalf("keep_input_artifact: the builder's image is gone: %v", err)
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = out
	if o, err := check.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, o)
	}
	for name, format := range map[string]string{"golden.vmdk": "vmdk", "golden.vhdx": "vhdx", "golden.vhd": "vpc", "golden.vdi": "vdi"} {
		if o, err := exec.Command("qemu-img", "compare", "-q", "-f", "qcow2", "-F", format, source, filepath.Join(out, name)).CombinedOutput(); err != nil {
			t.Errorf("%s differs from the built image: %v %s", name, err, o)
		}
	}
	if size := int64(qemuInfo(t, filepath.Join(out, "golden.vhd"), "vpc")["virtual-size"].(float64)); size%(1<<20) != 0 {
		t.Errorf("Azure VHD virtual size %d is not a whole MiB", size)
	}
	// The platforms' import rules, on the real image.
	virtual := int64(qemuInfo(t, source, "qcow2")["virtual-size"].(float64))
	checkStreamOptimizedVMDK(t, filepath.Join(out, "golden.vmdk"), virtual)
	checkLinuxVHDX(t, filepath.Join(out, "golden.vhdx"), virtual)
	checkVHDFooter(t, filepath.Join(out, "golden.vhd"), 2)
	checkVDI(t, filepath.Join(out, "golden.vdi"), virtual)
	checkGCETarball(t, filepath.Join(out, "golden.tar.gz"), virtual)
	list, err := exec.Command("tar", "-tzf", filepath.Join(out, "golden.tar.gz")).Output()
	if err != nil || strings.TrimSpace(string(list)) != "disk.raw" {
		t.Errorf("gce tarball holds %q (%v), want exactly disk.raw", list, err)
	}
	assertOVAOfTheBuild(t, filepath.Join(out, "golden.ova"), source)
	for _, w := range []string{"golden.vmdk: 100%", "Exporting"} {
		if !strings.Contains(res.Output, w) {
			t.Errorf("the log lacks %q", w)
		}
	}
}

// assertOVAOfTheBuild checks that the OVA carries the build's hardware,
// which crossed Packer's RPC as generated data (memory = 1024 in the
// template, not the OVA default 2048), and the built disk.
func assertOVAOfTheBuild(t *testing.T, ova, source string) {
	t.Helper()
	names, _, dir := readOVA(t, ova)
	if strings.Join(names, ",") != "golden.ovf,golden.mf,golden-disk1.vmdk" {
		t.Fatalf("OVA members %v", names)
	}
	check := exec.Command("sha256sum", "--strict", "-c", "golden.mf")
	check.Dir = dir
	if o, err := check.CombinedOutput(); err != nil {
		t.Errorf("the OVA manifest does not verify: %v\n%s", err, o)
	}
	descriptor, _ := os.ReadFile(filepath.Join(dir, "golden.ovf"))
	spec, _ := configSpec(t, descriptor)
	if spec.MemoryMB != 1024 || int(spec.NumCPUs) != min(2, runtime.NumCPU()) || spec.Firmware != "bios" {
		t.Errorf("the OVA's VM has %d MiB, %d CPUs, %q firmware; the build had 1024 MiB, %d CPUs, bios",
			spec.MemoryMB, spec.NumCPUs, spec.Firmware, min(2, runtime.NumCPU()))
	}
	if o, err := exec.Command("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "vmdk", source, filepath.Join(dir, "golden-disk1.vmdk")).CombinedOutput(); err != nil {
		t.Errorf("the OVA's disk differs from the built image: %v %s", err, o)
	}
}

// A full disk mid-way leaves no partial output.
func TestAccExport_fullDiskLeavesNothing(t *testing.T) {
	env := packertest.Setup(t)
	if os.Getuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	full := t.TempDir()
	if o, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", full).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, o)
	}
	defer exec.Command("umount", full).Run()
	// The file builder hands over a copy of the test image as its artifact.
	tmpl := packertest.WriteTemplate(t, fmt.Sprintf(`
source "file" "image" {
  source = %q
  target = "input.qcow2"
}
build {
  sources = ["source.file.image"]
  post-processor "kvm-export" {
    output_directory = %q
    target { format = "vmdk" }
    target { format = "raw" }
  }
}
`, env.Image, full))
	res := env.Run(t, tmpl, "build", ".")
	if res.ExitCode == 0 {
		t.Fatal("export into a 64 MiB filesystem succeeded")
	}
	// Whichever target fills the disk is named, be it the raw (qemu-img says
	// ENOSPC) or the streamOptimized vmdk (qemu-img says "Invalid argument").
	if !regexp.MustCompile(`no space left on device in ` + regexp.QuoteMeta(full) + ` while writing ` + regexp.QuoteMeta(full) + `/input\.(vmdk|raw)`).MatchString(res.Output) {
		t.Errorf("the error does not say the file system of %s is full, and while writing what", full)
	}
	entries, _ := os.ReadDir(full)
	for _, e := range entries {
		t.Errorf("left behind in the full filesystem: %s", e.Name())
	}
}

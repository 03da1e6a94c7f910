package kvm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// An arm64 image built on this host, whatever its architecture, as issue 10
// asks: the arm64 test image (scripts/base-image.sh arm64) boots under TCG
// on an x86_64 host (under KVM on an arm64 one), a provisioner sees an
// aarch64 kernel, the disk is snapshot, kvm-export converts it in the same
// build, and the generated data and the HCP Packer labels name the
// architecture.
func TestAccBuilder_arm64ImageBuildsProvisionsAndExports(t *testing.T) {
	env := packertest.Setup(t)
	image := os.Getenv("KVM_TEST_IMAGE_ARM64")
	if image == "" {
		t.Fatal("KVM_TEST_IMAGE_ARM64 is not set: run `make testacc`, or set it to the output of `scripts/base-image.sh arm64`")
	}
	registry := packertest.StartHCPRegistry(t)
	dir := packertest.WriteTemplate(t, sourceBlock("arm", image, `arch = "arm64"`)+`
build {
  hcp_packer_registry {
    bucket_name = "kvm-arm64"
  }
  sources = ["source.kvm.arm"]
  provisioner "shell" {
    inline = ["echo GUEST-ARCH=$(uname -m)", "test -d /sys/firmware/efi && echo BOOTED-UEFI", "echo built-on-arm64 | sudo tee /etc/packer-marker"]
  }
  post-processor "kvm-export" {
    output_directory = "exports"
    target { format = "qcow2" }
    target { format = "vhdx" }
    keep_input_artifact = true
  }
  post-processor "shell-local" {
    inline = ["echo GENERATED-ARCH=${build.Architecture}"]
  }
}
`)
	res := env.WithEnv(registry.Env()...).Run(t, dir, "build", "-timestamp-ui", ".")
	if res.ExitCode != 0 {
		t.Fatal("the arm64 build failed")
	}
	t.Logf("arm64 build took %s; boot to SSH %s", res.Duration.Round(time.Second), bootToSSH(res.Output))
	if qemu.HostArch() != "aarch64" {
		mustContain(t, res.Output, "Accelerator: tcg (an aarch64 guest on an "+qemu.HostArch()+" host is emulated)")
	}
	mustContain(t, res.Output, "UEFI firmware: ", "GUEST-ARCH=aarch64", "BOOTED-UEFI", "GENERATED-ARCH=aarch64")

	built := filepath.Join(dir, "output-arm", "arm.qcow2")
	if out, err := exec.Command("qemu-img", "check", built).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img check %s: %v\n%s", built, err, out)
	}
	if info := qemuImgInfo(t, built); info["backing-filename"] != nil {
		t.Fatalf("the snapshot is not standalone: %v", info)
	}
	for file, format := range map[string]string{"arm.qcow2": "qcow2", "arm.vhdx": "vhdx"} {
		exported := filepath.Join(dir, "exports", file)
		if info := qemuImgInfo(t, exported); info["format"] != format || info["virtual-size"] != qemuImgInfo(t, built)["virtual-size"] {
			t.Errorf("export %s: %v, want %s of the built image's size", file, info, format)
		}
	}

	builds := registry.Builds()
	if len(builds) != 1 {
		t.Fatalf("HCP stand-in holds %d builds, want 1", len(builds))
	}
	if got := builds[0].Labels["arch"]; got != "aarch64" {
		t.Errorf("HCP label arch = %q, want aarch64 (labels %v)", got, builds[0].Labels)
	}
	if len(builds[0].Artifacts) != 3 {
		t.Errorf("HCP build lists %d images, want the built one and both exports", len(builds[0].Artifacts))
	}
}

// bootToSSH is the time from QEMU's start to the SSH connection in a
// `packer build -timestamp-ui` log, or "unknown".
func bootToSSH(output string) string {
	stamp := func(marker string) (time.Time, bool) {
		// packer -timestamp-ui prefixes each line with "<RFC 3339>: ".
		m := regexp.MustCompile(`(?m)^(\S+?): .*` + regexp.QuoteMeta(marker)).FindStringSubmatch(output)
		if m == nil {
			return time.Time{}, false
		}
		ts, err := time.Parse(time.RFC3339, m[1])
		return ts, err == nil
	}
	start, ok1 := stamp("Starting the VM...")
	ssh, ok2 := stamp("Connected to SSH!")
	if !ok1 || !ok2 {
		return "unknown"
	}
	return fmt.Sprint(ssh.Sub(start))
}

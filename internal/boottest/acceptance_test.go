package boottest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test image (Debian's cloud kernel: virtio, PVSCSI, VMXNET3 and IDE
// drivers, no AHCI nor e1000) boots on virtio and does not on VirtualBox's
// defaults; neither run leaves a file behind.
func TestAccBoot_cloudImageOnVirtioAndOnVirtualBoxHardware(t *testing.T) {
	image := os.Getenv("KVM_TEST_IMAGE")
	if os.Getenv("PACKER_ACC") == "" || image == "" {
		t.Skip("set PACKER_ACC=1 and KVM_TEST_IMAGE")
	}
	before := leftovers(t)
	opts := Options{QemuImgBinary: "qemu-img", MemoryMiB: 1024, Timeout: 6 * time.Minute, Parallel: 2, Say: func(s string) { t.Log(s) }}
	virtio := ForTarget(TargetOptions{Format: "qcow2"})
	vbox := ForTarget(TargetOptions{Format: "vdi"})
	virtio.Accelerator, vbox.Accelerator = "tcg", "tcg"
	results := Run(context.Background(), []Test{
		{Output: image, Format: "qcow2", Hardware: virtio},
		{Output: image, Format: "qcow2", Hardware: vbox},
	}, opts)
	if !results[0].Passed {
		t.Errorf("virtio: %s", results[0].Error())
	}
	t.Logf("virtio boot: %s", results[0].Elapsed)
	if results[1].Passed {
		t.Errorf("the cloud kernel booted on SATA AHCI and e1000, which it has no driver for")
	} else if !strings.Contains(results[1].Error(), "root disk") {
		t.Errorf("the failure does not say the root disk was not found: %s", results[1].Error())
	}
	t.Logf("VirtualBox hardware: %s", results[1].Error())
	if after := leftovers(t); len(after) != len(before) {
		t.Errorf("left behind: %v (before: %v)", after, before)
	}
}

func leftovers(t *testing.T) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(os.TempDir(), "packer-kvm-boottest-*"))
	return m
}

// A cancelled build stops the VMs at once and leaves nothing behind.
func TestAccBoot_cancelLeavesNothing(t *testing.T) {
	image := os.Getenv("KVM_TEST_IMAGE")
	if os.Getenv("PACKER_ACC") == "" || image == "" {
		t.Skip("set PACKER_ACC=1 and KVM_TEST_IMAGE")
	}
	before := leftovers(t)
	h := ForTarget(TargetOptions{Format: "qcow2"})
	h.Accelerator = "tcg"
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(8*time.Second, cancel)
	start := time.Now()
	results := Run(ctx, []Test{{Output: image, Format: "qcow2", Hardware: h}, {Output: image, Format: "qcow2", Hardware: h}},
		Options{QemuImgBinary: "qemu-img", MemoryMiB: 512, Timeout: 5 * time.Minute, Parallel: 1})
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the run ended %s after its start, long after the cancel", took)
	}
	for _, r := range results {
		if r.Passed || !strings.Contains(r.Reason, "cancelled") {
			t.Errorf("a cancelled test: passed %v, %q", r.Passed, r.Reason)
		}
	}
	if after := leftovers(t); len(after) != len(before) {
		t.Errorf("left behind: %v", after)
	}
	if out, err := exec.Command("pgrep", "-f", "packer-kvm-boottest-").Output(); err == nil {
		t.Errorf("QEMU still runs: %s", out)
	}
}

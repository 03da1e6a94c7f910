package kvm

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/hostileimage"
	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// Issue 20 item 2: a source image whose backing file is a host file (here
// a stand-in for /etc/shadow) fails the build before QEMU starts, naming
// the file, and leaves no image. No guest boots: the test is cheap.
func TestAccBuilder_refusesASourceThatReadsAHostFile(t *testing.T) {
	env := packertest.Setup(t)
	secret := hostileimage.Secret(t)
	evil := hostileimage.BackedBy(t, t.TempDir(), secret)
	dir := packertest.WriteTemplate(t, sourceBlock("evil", evil, "")+`
build { sources = ["source.kvm.evil"] }
`)
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode == 0 {
		t.Fatal("a build from a source backed by a host file succeeded")
	}
	mustContain(t, res.Output,
		"the source image is refused: source images must be self-contained",
		"backing file "+secret,
	)
	for _, unwanted := range []string{"Starting the VM", "Created a"} {
		if strings.Contains(res.Output, unwanted) {
			t.Errorf("the build got as far as %q", unwanted)
		}
	}
	if procs := packertest.QemuProcesses(dir); len(procs) > 0 {
		t.Errorf("QEMU runs: %v", procs)
	}
	if images, _ := filepath.Glob(filepath.Join(dir, "output-evil", "*.qcow2")); len(images) > 0 {
		t.Errorf("images written: %v", images)
	}
}

package kvm

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// buildAccelerator is the accelerator a build ended up on: the last
// "Accelerator:" line it printed (a restart under TCG prints a second).
func buildAccelerator(output string) string {
	all := regexp.MustCompile(`Accelerator: (\w+)`).FindAllStringSubmatch(output, -1)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1][1]
}

// The safety net behind the probe, on whatever host this is. A verdict
// that KVM works is planted for this build's CPU model, as a host whose
// KVM broke after it was remembered would have, so the build skips the
// probe and boots under KVM with cpu_model = "qemu64" (which on some
// paravirtualized hosts passes SeaBIOS and then dies in the boot loader).
//   - Where KVM cannot run the guest, the build must restart under TCG
//     once, say why and what it cost, remember that KVM failed, finish,
//     and leave no trace of the first attempt.
//   - Where KVM runs it, the build simply succeeds under KVM.
//   - Where /dev/kvm is missing, the planted verdict is not trusted, the
//     probe runs, and the build goes to TCG from the start.
func TestAccBuilder_kvmFailureBeforeSSHRestartsUnderTCG(t *testing.T) {
	env := packertest.Setup(t)
	store := &qemu.VerdictStore{Dir: filepath.Join(env.CacheDir, "kvm-accelerator")}
	version, err := realDriver(t).QemuVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	host := qemu.CurrentHost(version, "q35", "qemu64")
	if _, err := store.Save(qemu.AcceleratorVerdict{Accelerator: "kvm", Decided: time.Now().UTC(), Host: host}); err != nil {
		t.Fatal(err)
	}
	before := tempEntries()
	dir := packertest.WriteTemplate(t, sourceBlock("net", env.Image, `cpu_model = "qemu64"`)+`
build {
  sources = ["source.kvm.net"]
  provisioner "shell" {
    inline = ["echo accel=${build.Accelerator}"]
  }
}
`)
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatalf("build failed")
	}
	accel := buildAccelerator(res.Output)
	mustContain(t, res.Output, "accel="+accel)
	restarted := strings.Contains(res.Output, "Restarting the build under TCG")
	_, devErr := os.Stat("/dev/kvm")
	switch {
	case restarted:
		t.Logf("this host's KVM failed the guest after the planted verdict: the build restarted under TCG")
		for _, line := range strings.Split(res.Output, "\n") {
			if strings.Contains(line, "Restarting the build") || strings.Contains(line, "Accelerator:") {
				t.Log(line)
			}
		}
		mustContain(t, res.Output, "KVM stopped the guest before it reached SSH", "lost", "Remembered in "+store.Path(host))
		if accel != "tcg" || strings.Count(res.Output, "Accelerator: ") != 2 {
			t.Errorf("after the restart the build ran on %q with %d Accelerator lines, want tcg and two", accel, strings.Count(res.Output, "Accelerator: "))
		}
		if v, ok := store.Load(host); !ok || v.Accelerator != "tcg" || !strings.Contains(v.Reason, "before it reached SSH") {
			t.Errorf("verdict after the restart: %+v, want tcg with the reason", v)
		}
	case devErr != nil:
		t.Logf("no /dev/kvm: the planted verdict must not be trusted")
		if accel != "tcg" || !strings.Contains(res.Output, "Accelerator: tcg, because") {
			t.Errorf("without /dev/kvm the build ran on %q; want tcg with the reason", accel)
		}
	default:
		t.Logf("this host's KVM ran the guest with cpu_model = qemu64")
		if accel != "kvm" {
			t.Errorf("the build ran on %q without a restart, want kvm (the planted verdict)", accel)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "output-net"))
	if len(entries) != 2 {
		t.Errorf("output holds %d entries, want the image and its checksum only", len(entries))
	}
	assertNothingLeft(t, dir, before)
}

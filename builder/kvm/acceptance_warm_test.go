package kvm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
	"github.com/kvmforge/packer-plugin-kvm/internal/warmstart"
)

// warmTemplate is a warm-start build that writes marker into the image,
// prints the host's and then the guest's clock, the guest's identity as
// its first boot made it, and runs kvm-sysprep's identity operations.
func warmTemplate(image, extra, marker string) string {
	return fmt.Sprintf(`
source "kvm" "warm" {
  source_image_url      = %q
  source_image_checksum = "none"
  ssh_username          = "packer"
  warm_start            = true
  %s
}
`, image, extra) + `
build {
  sources = ["source.kvm.warm"]
  provisioner "shell-local" { inline = ["echo HOSTCLOCK=$(date +%s)"] }
  provisioner "shell" {
    inline = [
      "echo GUESTCLOCK=$(date +%s)",
      "echo ` + marker + ` | sudo tee /etc/warm-marker >/dev/null",
      "echo MACHINEID=$(cat /etc/machine-id)",
      "echo HOSTKEY=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)",
    ]
  }
  provisioner "kvm-sysprep" { operations = ["machine-id", "ssh-hostkeys", "random-seed"] }
}
`
}

func printed(t *testing.T, output, name string) string {
	t.Helper()
	m := regexp.MustCompile(name + `=(\S+)`).FindStringSubmatch(output)
	if m == nil {
		t.Fatalf("the build printed no %s", name)
	}
	return m[1]
}

// The guest's clock after a resume is the host's, within a few seconds.
func assertClockRight(t *testing.T, output string) {
	t.Helper()
	host, _ := strconv.ParseInt(printed(t, output, "HOSTCLOCK"), 10, 64)
	guest, _ := strconv.ParseInt(printed(t, output, "GUESTCLOCK"), 10, 64)
	if d := guest - host; d < -3 || d > 5 {
		t.Errorf("the guest's clock is %d s off the host's after the resume", d)
	}
}

// Builds resumed from one entry: the first build saves, later ones resume
// and provision; their images keep no shared identity after kvm-sysprep;
// a changed memory misses the cache, and a damaged entry boots cold.
func TestAccBuilder_warmStart(t *testing.T) {
	cache := t.TempDir()
	env := packertest.Setup(t).WithEnv("PACKER_CACHE_DIR=" + cache)
	root := filepath.Join(cache, "kvm-warm")

	first := packertest.WriteTemplate(t, warmTemplate(env.Image, "memory = 1024", "first"))
	res := env.Run(t, first, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("the first build failed")
	}
	mustContain(t, res.Output, "warm start: no saved VM for these inputs", "warm start: saved entry")
	entries, _ := filepath.Glob(filepath.Join(root, "[0-9a-f]*"))
	if len(entries) != 1 {
		t.Fatalf("the cache holds %d entries, want 1: %v", len(entries), entries)
	}
	entry := entries[0]
	for _, name := range []string{warmstart.StateFile, warmstart.DiskFile, warmstart.KeyFile, warmstart.ManifestFile} {
		if _, err := os.Stat(filepath.Join(entry, name)); err != nil {
			t.Fatalf("the entry lacks %s: %v", name, err)
		}
	}
	// Every file is private, the memory state QEMU wrote included, and so
	// is the cache's HMAC key (issue 20).
	for _, path := range append([]string{filepath.Join(root, warmstart.SecretFile)}, mustGlob(t, filepath.Join(entry, "*"))...) {
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
		}
	}

	// Two builds resumed from the entry.
	var images []string
	var identities []string
	for _, marker := range []string{"second", "third"} {
		dir := packertest.WriteTemplate(t, warmTemplate(env.Image, "memory = 1024", marker))
		res := env.Run(t, dir, "build", ".")
		if res.ExitCode != 0 {
			t.Fatalf("the %s build failed", marker)
		}
		mustContain(t, res.Output, "warm start: resuming the VM saved in entry", "warm start: resumed from "+filepath.Base(entry)[:12]+", saved ")
		if strings.Contains(res.Output, "warm start: saved entry") {
			t.Errorf("the %s build saved the VM again", marker)
		}
		if strings.Contains(res.Output, "BEGIN OPENSSH PRIVATE KEY") {
			t.Error("the cached private key reached the build's output")
		}
		assertClockRight(t, res.Output)
		identities = append(identities, printed(t, res.Output, "MACHINEID")+" "+printed(t, res.Output, "HOSTKEY"))
		images = append(images, filepath.Join(dir, "output-warm", "warm.qcow2"))
	}
	// Before kvm-sysprep both guests carry the first boot's identity, as
	// the docs say: that is why it must run.
	if identities[0] != identities[1] {
		t.Errorf("resumed guests had different identities before kvm-sysprep: %v", identities)
	}
	for i, image := range images {
		mnt := packertest.MountRoot(t, image)
		want := []string{"second", "third"}[i]
		if got, err := os.ReadFile(filepath.Join(mnt, "etc/warm-marker")); strings.TrimSpace(string(got)) != want {
			t.Errorf("image %d: /etc/warm-marker is %q (%v), want %q", i, got, err, want)
		}
		if mid, _ := os.ReadFile(filepath.Join(mnt, "etc/machine-id")); string(mid) != "uninitialized\n" {
			t.Errorf("image %d keeps the shared machine-id %q", i, mid)
		}
		if keys, _ := filepath.Glob(filepath.Join(mnt, "etc/ssh/ssh_host_*")); len(keys) > 0 {
			t.Errorf("image %d keeps the shared host keys %v", i, keys)
		}
	}
	mnt := packertest.MountRoot(t, filepath.Join(entry, warmstart.DiskFile))
	if _, err := os.Stat(filepath.Join(mnt, "etc/warm-marker")); !os.IsNotExist(err) {
		t.Errorf("a build wrote its marker into the cache entry (stat: %v)", err)
	}

	// Another memory size is another booted guest.
	other := packertest.WriteTemplate(t, warmTemplate(env.Image, `ssh_timeout = "1s"`+"\n  memory = 1100", "none"))
	res = env.Run(t, other, "build", ".")
	mustContain(t, res.Output, "warm start: no saved VM for these inputs")
	if strings.Contains(res.Output, "warm start: resuming") {
		t.Error("a build with another memory size resumed the saved VM")
	}

	// A damaged entry is discarded and the build boots cold, saving anew.
	f, err := os.OpenFile(filepath.Join(entry, warmstart.StateFile), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("damaged"), 4096)
	f.Close()
	damaged := packertest.WriteTemplate(t, warmTemplate(env.Image, "memory = 1024", "cold-again"))
	res = env.Run(t, damaged, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("the build after the damage failed")
	}
	mustContain(t, res.Output, "warm start: discarding the damaged entry", "state does not match its checksum", "booting cold", "warm start: saved entry")
	if strings.Contains(res.Output, "warm start: resuming") {
		t.Error("the build resumed from a damaged entry")
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	matches, err := filepath.Glob(pattern)
	if err != nil || len(matches) == 0 {
		t.Fatalf("nothing matches %s: %v", pattern, err)
	}
	return matches
}

//go:build linux

package kvm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// userSource is a small UEFI source for the ordinary user's builds, on
// the test image served over HTTP.
func userSource(name, url, checksum, extra string) string {
	return fmt.Sprintf(`
source "kvm" %q {
  source_image_url      = %q
  source_image_checksum = %q
  ssh_username          = "packer"
  firmware              = "uefi"
  cpus                  = 1
  memory                = 1024
  ssh_timeout           = "20m"
  %s
}
`, name, url, checksum, extra)
}

// serveImage serves the test image on 127.0.0.1 (the root cache it lives
// in is not readable by other users) and returns its URL and checksum.
func serveImage(t *testing.T, image string) (string, string) {
	t.Helper()
	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, image)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/debian.qcow2", "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// assertOwnedBy checks that every file under dir belongs to uid.
func assertOwnedBy(t *testing.T, dir string, uid int) {
	t.Helper()
	count := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		count++
		if st := info.Sys().(*syscall.Stat_t); int(st.Uid) != uid {
			t.Errorf("%s is owned by uid %d, not the building user's %d", path, st.Uid, uid)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if count < 3 {
		t.Errorf("%s holds %d entries, want the directory, the image and its checksum", dir, count)
	}
}

// assertDeviceErrorNotRemembered checks the accelerator the user's build
// chose: KVM where the user may open /dev/kvm and it runs guests, else
// TCG. A /dev/kvm the user may not open is about the user, not the host:
// no TCG verdict for the host may be remembered for it.
func assertDeviceErrorNotRemembered(t *testing.T, u *packertest.User, output string) {
	t.Helper()
	mustContain(t, output, "Accelerator: ")
	if !strings.Contains(output, "cannot open /dev/kvm: permission denied; ") {
		return
	}
	verdicts, _ := filepath.Glob(filepath.Join(u.CacheDir, "kvm-accelerator", "*.json"))
	for _, v := range verdicts {
		data, _ := os.ReadFile(v)
		if strings.Contains(string(data), "cannot open /dev/kvm") {
			t.Errorf("the user's cache remembers its own lack of access to /dev/kvm as the host's verdict (%s):\n%s", v, data)
		}
	}
}

// Issue 19 §2: an ordinary user, without root and without the kvm group,
// builds with its own HOME, plugin installation and Packer cache: UEFI
// with a software TPM (swtpm runs as that user), and a warm start that
// saves an entry in the user's cache and resumes from it in a second
// build. Nothing the builds make is left outside the user's home.
func TestAccUser_ordinaryUserBuildsUEFIWithTPMAndWarmStart(t *testing.T) {
	env := packertest.Setup(t)
	u := env.NewUser(t)
	start := time.Now()
	url, checksum := serveImage(t, env.Image)

	// The first build: the TPM source, and the warm source that saves.
	warm := userSource("warm", url, checksum, "warm_start = true")
	first := u.WriteTemplate(t, "first", userSource("tpm", url, checksum, "tpm = true")+warm+`
build {
  sources = ["source.kvm.tpm", "source.kvm.warm"]
  provisioner "shell" {
    only   = ["kvm.tpm"]
    inline = ["test -c /dev/tpmrm0 && echo TPM-DEVICE", "test -d /sys/firmware/efi && echo BOOTED-UEFI"]
  }
  provisioner "shell-local" {
    only   = ["kvm.tpm"]
    inline = ["echo SWTPM-OF-USER=$(pgrep -u $(id -u) -x swtpm | wc -l) AS=$(id -un)"]
  }
}
`)
	res := u.Run(t, first, "build", ".")
	if res.ExitCode != 0 {
		t.Fatalf("the first build as %s failed", u)
	}
	mustContain(t, res.Output,
		"UEFI firmware: /usr/share/OVMF/",
		"kvm.tpm: Started a software TPM 2.0 (swtpm)",
		"kvm.tpm: TPM-DEVICE", "kvm.tpm: BOOTED-UEFI",
		"kvm.tpm: SWTPM-OF-USER=1 AS="+u.Name,
		"kvm.warm: warm start: no saved VM for these inputs", "kvm.warm: warm start: saved entry",
		"Build 'kvm.tpm' finished", "Build 'kvm.warm' finished",
	)
	assertDeviceErrorNotRemembered(t, u, res.Output)
	entries, _ := filepath.Glob(filepath.Join(u.CacheDir, "kvm-warm", "[0-9a-f]*"))
	if len(entries) != 1 {
		t.Fatalf("the user's cache holds %d warm entries, want 1: %v", len(entries), entries)
	}
	for _, name := range []string{"tpm", "warm"} {
		assertOwnedBy(t, filepath.Join(first, "output-"+name), u.UID)
	}
	assertOwnedBy(t, entries[0], u.UID)

	// The second build resumes from the user's entry.
	second := u.WriteTemplate(t, "second", warm+`
build {
  sources = ["source.kvm.warm"]
  provisioner "shell" { inline = ["echo RESUMED-AS=$(id -un)"] }
}
`)
	res = u.Run(t, second, "build", ".")
	if res.ExitCode != 0 {
		t.Fatalf("the resumed build as %s failed", u)
	}
	mustContain(t, res.Output,
		"warm start: resuming the VM saved in entry",
		"warm start: resumed from "+filepath.Base(entries[0])[:12]+", saved ",
		"RESUMED-AS=packer",
	)
	if strings.Contains(res.Output, "warm start: saved entry") {
		t.Error("the second build saved the VM again instead of resuming")
	}
	assertOwnedBy(t, filepath.Join(second, "output-warm"), u.UID)

	// Where the user may not open /dev/kvm, accelerator = "kvm" fails at
	// once, before any boot, and says why and what to do.
	if strings.Contains(res.Output, "cannot open /dev/kvm: permission denied; ") {
		explicit := u.WriteTemplate(t, "explicit", userSource("kvm", url, checksum, `accelerator = "kvm"`)+`
build { sources = ["source.kvm.kvm"] }
`)
		res = u.Run(t, explicit, "build", ".")
		if res.ExitCode == 0 {
			t.Fatal("a build with accelerator = \"kvm\" succeeded for a user who may not open /dev/kvm")
		}
		mustContain(t, res.Output, `accelerator = "kvm" but kvm cannot run the guest: cannot open /dev/kvm: permission denied; `)
		if strings.Contains(res.Output, "Starting the VM") {
			t.Error("the VM was started without the accelerator")
		}
		if _, err := os.Stat(filepath.Join(explicit, "output-kvm")); !os.IsNotExist(err) {
			t.Errorf("the failed build left output-kvm behind (stat: %v)", err)
		}
	}

	// Nothing left: no process of the user, no temporary directory of the
	// builder, no file of the user outside its home.
	if procs := u.WaitForNoProcesses(10 * time.Second); len(procs) > 0 {
		t.Errorf("processes of %s still run after the builds: %v", u, procs)
	}
	for _, dir := range []string{os.TempDir(), "/tmp"} {
		leftovers, _ := filepath.Glob(filepath.Join(dir, "packer-kvm-*"))
		for _, l := range leftovers {
			if fi, err := os.Lstat(l); err == nil && int(fi.Sys().(*syscall.Stat_t).Uid) == u.UID {
				t.Errorf("temporary file of the build left: %s", l)
			}
		}
	}
	if files := u.FilesOutside(t); len(files) > 0 {
		t.Errorf("files of %s outside its home: %v", u, files)
	}
	t.Logf("the ordinary user's builds and checks took %s", time.Since(start).Round(time.Second))
}

package kvm

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

func TestMain(m *testing.M) { packertest.Main(m) }

// sourceBlock is a kvm source on the test image with test-friendly sizes.
func sourceBlock(name, image, extra string) string {
	return fmt.Sprintf(`
source "kvm" %q {
  source_image_url      = %q
  source_image_checksum = "none"
  ssh_username          = "packer"
  memory                = 1024
  %s
}
`, name, image, extra)
}

func qemuImgInfo(t *testing.T, path string) map[string]interface{} {
	t.Helper()
	out, err := exec.Command("qemu-img", "info", "--output=json", path).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	var info map[string]interface{}
	json.Unmarshal(out, &info)
	return info
}

func mustContain(t *testing.T, output string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(output, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

// hostAccelerator is what accelerator = "auto" must pick on this host:
// kvm when the driver's probe (with the builder's defaults) runs a guest,
// else tcg, with the probe's reason.
func hostAccelerator(t *testing.T) (string, error) {
	t.Helper()
	err := realDriver(t).ProbeKVM(context.Background(), "q35", "host", 10*time.Second)
	if err != nil {
		return "tcg", err
	}
	return "kvm", nil
}

// (a) and (f): a provisioner's marker survives into a standalone image,
// which boots again as the source of a second build; auto picks KVM when
// this host can run it and falls back to TCG when not.
func TestAccBuilder_standaloneImageCarriesTheProvisionedChange(t *testing.T) {
	env := packertest.Setup(t)
	dir := packertest.WriteTemplate(t, sourceBlock("first", env.Image, "")+`
build {
  sources = ["source.kvm.first"]
  provisioner "shell" {
    inline = ["echo built-by-packer | sudo tee /etc/packer-marker", "echo accel=${build.Accelerator} port=${build.SSHHostPort}"]
  }
  post-processor "shell-local" {
    inline = ["echo IMAGE=${build.ImagePath} SUM=${build.ImageChecksum} FORMAT=${build.ImageFormat}"]
  }
}
`)
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatalf("build failed")
	}
	// The build's own choice, checked against the host: it may use KVM only
	// where KVM can run a guest, and must say why when it does not.
	accel := buildAccelerator(res.Output)
	mustContain(t, res.Output, "accel="+accel+" port=")
	if _, probeErr := hostAccelerator(t); probeErr != nil && accel == "kvm" {
		t.Fatalf("the build used KVM on a host whose KVM cannot run the probe guest (%v)", probeErr)
	}
	if accel == "tcg" && !strings.Contains(res.Output, "Accelerator: tcg, because") {
		t.Fatalf("the build fell back to TCG without saying why in its Accelerator line")
	}
	image := filepath.Join(dir, "output-first", "first.qcow2")
	info := qemuImgInfo(t, image)
	if _, backed := info["backing-filename"]; backed || info["format"] != "qcow2" {
		t.Fatalf("image is not a standalone qcow2: %v", info)
	}
	if out, err := exec.Command("qemu-img", "check", image).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img check: %v\n%s", err, out)
	}
	sumCheck := exec.Command("sha256sum", "-c", "first.qcow2.sha256")
	sumCheck.Dir = filepath.Join(dir, "output-first")
	if out, err := sumCheck.CombinedOutput(); err != nil {
		t.Fatalf("checksum file does not verify: %v\n%s", err, out)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "output-first"))
	if len(entries) != 2 {
		t.Fatalf("output holds %d entries, want the image and its checksum only", len(entries))
	}
	mustContain(t, res.Output, "IMAGE="+filepath.Join("output-first", "first.qcow2"), "SUM=sha256:", "FORMAT=qcow2")

	// The accelerator probe must settle within its timeout, before the boot.
	if accel == "tcg" {
		m := regexp.MustCompile(`decided in ([0-9.]+m?s)`).FindStringSubmatch(res.Output)
		if m == nil {
			t.Fatal("the fallback warning does not say how long detection took")
		}
		if took, err := time.ParseDuration(m[1]); err != nil || took > 10*time.Second {
			t.Fatalf("detecting an unusable KVM took %s (err %v), more than accelerator_probe_timeout", m[1], err)
		}
	}

	second := packertest.WriteTemplate(t, sourceBlock("second", image, "")+`
build {
  sources = ["source.kvm.second"]
  provisioner "shell" { inline = ["echo MARKER=$(cat /etc/packer-marker)"] }
}
`)
	res2 := env.Run(t, second, "build", ".")
	if res2.ExitCode != 0 {
		t.Fatal("second build failed")
	}
	mustContain(t, res2.Output, "MARKER=built-by-packer")
}

// (e): an SSH timeout fails with the serial console's tail. The guest is
// emulated on every host, so that 8 s is always too short for its boot.
func TestAccBuilder_sshTimeoutShowsTheSerialConsole(t *testing.T) {
	env := packertest.Setup(t)
	dir := packertest.WriteTemplate(t, sourceBlock("slow", env.Image, "ssh_timeout = \"8s\"\n  accelerator = \"tcg\"\n  cpu_model = \"max\"")+`
build { sources = ["source.kvm.slow"] }
`)
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode == 0 {
		t.Fatal("build succeeded despite an 8 s SSH timeout under TCG")
	}
	// Issue 20 item 10: the tail is cleaned of terminal control codes, and
	// says how to keep the log the build removes.
	mustContain(t, res.Output, "waiting for SSH", "ssh_timeout", "lines of the serial console",
		"the whole log is removed with the build's work directory: set serial_log_file to keep it")
	if strings.ContainsRune(res.Output, '\x1b') {
		t.Errorf("the output holds terminal escape sequences:\n%q", res.Output)
	}
	if _, err := os.Stat(filepath.Join(dir, "output-slow")); !os.IsNotExist(err) {
		t.Fatal("a failed build left its output directory")
	}
	if procs := packertest.QemuProcesses(dir); len(procs) > 0 {
		t.Fatalf("QEMU still runs: %v", procs)
	}
}

// Run-time input faults fail before any boot, with the reason.
func TestAccBuilder_badSourcesAreRefusedBeforeBoot(t *testing.T) {
	env := packertest.Setup(t)
	notADisk := filepath.Join(t.TempDir(), "page.qcow2")
	os.WriteFile(notADisk, []byte("<html>Not Found</html>\n"), 0o644)
	cases := map[string]struct{ source, checksum, want string }{
		"checksum mismatch": {env.Image, "sha256:" + strings.Repeat("0", 64), "checksum"},
		"not a disk image":  {notADisk, "none", "not a disk image"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := packertest.WriteTemplate(t, fmt.Sprintf(`
source "kvm" "bad" {
  source_image_url      = %q
  source_image_checksum = %q
  ssh_username          = "packer"
}
build { sources = ["source.kvm.bad"] }
`, tc.source, tc.checksum))
			res := env.Run(t, dir, "build", ".")
			if res.ExitCode == 0 {
				t.Fatal("build succeeded")
			}
			mustContain(t, strings.ToLower(res.Output), tc.want)
			if strings.Contains(res.Output, "Starting the VM") {
				t.Fatal("the VM was started before the source was refused")
			}
		})
	}
}

// (b): SIGINT during boot, provisioning and snapshot leaves no QEMU, no
// temporary file and nothing at the output path.
func TestAccBuilder_interruptLeavesNothingBehind(t *testing.T) {
	env := packertest.Setup(t)
	phases := map[string]string{
		"boot":      "Waiting for the guest's SSH server",
		"provision": "Provisioning with shell script",
		"snapshot":  "Writing a standalone qcow2 image",
	}
	for phase, trigger := range phases {
		t.Run(phase, func(t *testing.T) {
			dir := packertest.WriteTemplate(t, sourceBlock("cancel", env.Image, "")+`
build {
  sources = ["source.kvm.cancel"]
  provisioner "shell" { inline = ["dd if=/dev/urandom of=/var/tmp/noise bs=1M count=200 status=none", "sleep 1"] }
}
`)
			// The build's own temporary directory, so that other builds
			// on the machine do not count as its leftovers.
			tmp := t.TempDir()
			cmd := env.WithEnv("TMPDIR="+tmp).Command(dir, "build", ".")
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = cmd.Stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			seen := make(chan struct{})
			readerDone := make(chan struct{})
			var log strings.Builder
			go func() {
				defer close(readerDone)
				scanner := bufio.NewScanner(stdout)
				signalled := false
				for scanner.Scan() {
					log.WriteString(scanner.Text() + "\n")
					if !signalled && strings.Contains(scanner.Text(), trigger) {
						signalled = true
						close(seen)
					}
				}
				io.Copy(io.Discard, stdout)
			}()
			select {
			case <-seen:
			case <-time.After(5 * time.Minute):
				cmd.Process.Kill()
				t.Fatalf("never reached %q", trigger)
			}
			time.Sleep(500 * time.Millisecond)
			// Ctrl-C in a terminal interrupts the whole foreground process
			// group: packer's wrapper, packer, the plugin and QEMU alike.
			packertest.InterruptAndWait(t, cmd)
			<-readerDone
			if !strings.Contains(log.String(), "Deleting output directory") {
				t.Errorf("the build was not interrupted:\n%s", log.String())
			}
			if procs := packertest.QemuProcesses(dir); len(procs) > 0 {
				t.Fatalf("QEMU still runs after the interrupt: %v", procs)
			}
			if _, err := os.Stat(filepath.Join(dir, "output-cancel")); !os.IsNotExist(err) {
				t.Fatal("the interrupted build left output-cancel behind")
			}
			if leftovers, _ := filepath.Glob(filepath.Join(tmp, "packer-kvm-*")); len(leftovers) > 0 {
				t.Fatalf("temporary files left in the build's TMPDIR: %v", leftovers)
			}
		})
	}
}

// (c): three sources in one build run side by side without clashes. They
// are one source renamed with `name`, so Packer gives the builder the same
// label for all three (issue 15 item 4); the second has ssh_password and a
// cloud-init that leaves /etc/hosts alone, as Debian's genericcloud images
// do (items 3 and 8b): its image must keep none of the build's access.
func TestAccBuilder_parallelSources(t *testing.T) {
	env := packertest.Setup(t)
	const password = "Build-Secret-4711"
	// Three emulated guests share two host cores here: give them time.
	dir := packertest.WriteTemplate(t, sourceBlock("base", env.Image, `cpus = 1
  ssh_timeout = "25m"`)+`
build {
  source "source.kvm.base" { name = "one" }
  source "source.kvm.base" {
    name         = "two"
    ssh_password = "`+password+`"
    user_data    = "#cloud-config\nmanage_etc_hosts: false\n"
  }
  source "source.kvm.base" { name = "three" }
  provisioner "shell" {
    inline = [
      "hostname > /tmp/name",
      "echo ran on port ${build.SSHHostPort}",
      "echo OUT=${build.OutputDirectory}",
      "echo RESOLVES=$(getent hosts $(hostname) | cut -d' ' -f1)",
      "echo PWHASH=$(sudo awk -F: '$1 == \"packer\" { print substr($2, 1, 3) }' /etc/shadow)",
    ]
  }
}
`)
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("parallel build failed")
	}
	ports := regexp.MustCompile(`ran on port (\d+)`).FindAllStringSubmatch(res.Output, -1)
	seen := map[string]bool{}
	for _, p := range ports {
		seen[p[1]] = true
	}
	if len(seen) != 3 {
		t.Fatalf("want three distinct SSH ports, got %v", ports)
	}
	outputs := map[string]string{}
	for _, m := range regexp.MustCompile(`kvm\.(\w+): OUT=(\S+)`).FindAllStringSubmatch(res.Output, -1) {
		outputs[m[1]] = m[2]
	}
	distinct := map[string]bool{}
	for _, n := range []string{"one", "two", "three"} {
		images, _ := filepath.Glob(filepath.Join(dir, outputs[n], "*.qcow2"))
		if outputs[n] == "" || len(images) != 1 || distinct[outputs[n]] {
			t.Fatalf("source %s: output directory %q holds %v (outputs %v)", n, outputs[n], images, outputs)
		}
		distinct[outputs[n]] = true
	}
	if strings.Contains(res.Output, "unable to resolve host") {
		t.Error("sudo could not resolve the build hostname")
	}
	mustContain(t, res.Output, "kvm.two: RESOLVES=127.0.1.1", "kvm.two: PWHASH=$6$", "Removed the build password of packer",
		"Removed the build's SSH password authentication", "Removed the build's passwordless sudo rule")

	images, _ := filepath.Glob(filepath.Join(dir, outputs["two"], "*.qcow2"))
	assertNoBuildAccess(t, images[0], password)
}

// assertNoBuildAccess inspects an image offline for anything of the
// build's access: the password in any file or anywhere on the disk, a
// password hash for the build user, its sudo rule, the sshd lines, the
// build hostname and the temporary key.
func assertNoBuildAccess(t *testing.T, image, password string) {
	t.Helper()
	mnt := packertest.MountRoot(t, image)
	if out, _ := exec.Command("grep", "-rlaF", "--", password, mnt).Output(); len(out) > 0 {
		t.Errorf("the password is in files of the image:\n%s", out)
	}
	if out, _ := exec.Command("grep", "-rlaE", "--", "hashed_passwd|packer_[0-9a-f]{8}", filepath.Join(mnt, "var/lib/cloud"), filepath.Join(mnt, "home"), filepath.Join(mnt, "root")).Output(); len(out) > 0 {
		t.Errorf("the build's password hash or key is still in:\n%s", out)
	}
	shadow, _ := os.ReadFile(filepath.Join(mnt, "etc/shadow"))
	for _, line := range strings.Split(string(shadow), "\n") {
		if strings.HasPrefix(line, "packer:") && strings.Contains(strings.Split(line, ":")[1], "$") {
			t.Errorf("the build user still has a password hash: %s", line)
		}
	}
	if out, _ := exec.Command("grep", "-rs", "packer ALL=(ALL) NOPASSWD:ALL", filepath.Join(mnt, "etc/sudoers"), filepath.Join(mnt, "etc/sudoers.d")).Output(); len(out) > 0 {
		t.Errorf("the build's sudo rule is in the image:\n%s", out)
	}
	if sshd, _ := os.ReadFile(filepath.Join(mnt, "etc/ssh/sshd_config")); strings.Contains(string(sshd), "packer-kvm") {
		t.Errorf("sshd_config keeps the build's lines:\n%s", sshd)
	}
	for _, f := range []string{"etc/hosts", "etc/hostname"} {
		if data, _ := os.ReadFile(filepath.Join(mnt, f)); strings.Contains(string(data), "packer-base") {
			t.Errorf("%s keeps the build hostname:\n%s", f, data)
		}
	}
	raw := filepath.Join(t.TempDir(), "disk.raw")
	if out, err := exec.Command("qemu-img", "convert", "-O", "raw", image, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v\n%s", err, out)
	}
	if err := exec.Command("grep", "-qaF", "--", password, raw).Run(); err == nil {
		t.Error("the password is in the image's bytes (free space included)")
	}
}

// (d): the same image boots under UEFI firmware (OVMF chosen by Debian's
// firmware descriptor). Its overlay output goes through kvm-export: the one
// backing file an export input may have is its build's source, which the
// artifact names across Packer's RPC (issue 20).
func TestAccBuilder_uefi(t *testing.T) {
	env := packertest.Setup(t)
	dir := packertest.WriteTemplate(t, sourceBlock("uefi", env.Image, `firmware = "uefi"
  output_mode = "overlay"`)+`
build {
  sources = ["source.kvm.uefi"]
  provisioner "shell" { inline = ["test -d /sys/firmware/efi && echo BOOTED-UEFI"] }
  post-processor "kvm-export" {
    output_directory    = "exports"
    target { format = "raw" }
    keep_input_artifact = true
  }
}
`)
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("UEFI build failed")
	}
	mustContain(t, res.Output, "UEFI firmware: /usr/share/OVMF/OVMF_CODE_4M.fd, variables from /usr/share/OVMF/OVMF_VARS_4M.fd (QEMU firmware descriptor /usr/share/qemu/firmware/60-edk2-x86_64.json)", "BOOTED-UEFI")
	image := filepath.Join(dir, "output-uefi", "uefi.qcow2")
	info := qemuImgInfo(t, image)
	if info["backing-filename"] == nil {
		t.Fatal("output_mode overlay produced an image without a backing file")
	}
	if out, err := exec.Command("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "raw", image, filepath.Join(dir, "exports", "uefi.raw")).CombinedOutput(); err != nil {
		t.Errorf("the export of the overlay differs from it: %v %s", err, out)
	}
}

// mountTmpfs mounts a size-limited tmpfs for a test, as a small output
// filesystem that a build can fill.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// stallingServer serves the first 64 KiB of a 10 MiB file, then sends
// nothing more without closing the connection.
func stallingServer(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(10<<20))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv.URL + "/debian.qcow2"
}

// Issue 15, items 2 and 6, in one build of five sources that each fail in
// their own way, each with the reason, and none leaving QEMU or files:
//   - full: a provisioner fills the output directory's small filesystem; QEMU
//     pauses the guest on the I/O error, which used to hang the build;
//   - off: a provisioner powers the guest off, and the next one used to
//     retry for 5 minutes and fail with "connection refused";
//   - blank: a disk with a partition table and no boot code: the serial
//     console stays silent, which used to wait for ssh_timeout;
//   - cut: a truncated qcow2 (checksum "none"), refused before boot;
//   - stall: an HTTP download that stops sending, which used to hang.
func TestAccBuilder_failingVMsEndTheBuildWithTheReason(t *testing.T) {
	env := packertest.Setup(t)
	small := mountTmpfs(t, "160M")
	fullOut := filepath.Join(small, "out")

	work := t.TempDir()
	blank := filepath.Join(work, "blank.raw")
	f, _ := os.Create(blank)
	f.Truncate(64 << 20)
	f.Close()
	label := exec.Command("sfdisk", "-q", blank)
	label.Stdin = strings.NewReader("label: dos\n,,L\n")
	if out, err := label.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	cut := filepath.Join(work, "cut.qcow2")
	if out, err := exec.Command("sh", "-c", fmt.Sprintf("head -c 50000000 %q > %q", env.Image, cut)).CombinedOutput(); err != nil {
		t.Fatalf("truncating the image: %v\n%s", err, out)
	}

	dir := packertest.WriteTemplate(t,
		sourceBlock("full", env.Image, fmt.Sprintf("output_directory = %q", fullOut))+
			sourceBlock("off", env.Image, "")+
			sourceBlock("blank", blank, `boot_progress_timeout = "20s"`)+
			sourceBlock("cut", cut, "")+
			sourceBlock("stall", stallingServer(t), `download_stall_timeout = "5s"`)+`
build {
  sources = ["source.kvm.full", "source.kvm.off", "source.kvm.blank", "source.kvm.cut", "source.kvm.stall"]
  provisioner "shell" {
    only   = ["kvm.full"]
    inline = ["echo FILLING", "dd if=/dev/urandom of=/var/tmp/fill bs=1M count=400 conv=fsync status=none", "echo FILLED"]
  }
  provisioner "shell" {
    only   = ["kvm.off"]
    # Powers off 3 s after this provisioner ended cleanly.
    inline = ["sudo setsid sh -c 'sleep 3; poweroff' </dev/null >/dev/null 2>&1 &"]
  }
  provisioner "shell" {
    only         = ["kvm.off"]
    pause_before = "15s"
    inline       = ["echo AFTER-POWEROFF"]
  }
}
`)
	tmp := t.TempDir() // the build's own, see the interrupt test
	res := env.WithEnv("TMPDIR="+tmp).Run(t, dir, "build", ".")
	if res.ExitCode == 0 {
		t.Fatal("the build succeeded")
	}
	mustContain(t, res.Output,
		"kvm.full: the guest paused on a disk I/O error: no space left on the output directory's filesystem ("+fullOut+")",
		"kvm.off: the guest powered off during the build",
		"kvm.blank: the guest printed nothing on its serial console in 20s (boot_progress_timeout)",
		"kvm.cut: the source image",
		"qemu-img check found",
		"kvm.stall: the download of the source image stalled",
		"lines of the serial console",
		"FILLING",
	)
	for _, unwanted := range []string{"FILLED", "AFTER-POWEROFF", "connection refused"} {
		if strings.Contains(res.Output, unwanted) {
			t.Errorf("output has %q", unwanted)
		}
	}
	if strings.Contains(res.Output, "kvm.cut: Starting the VM") {
		t.Error("the truncated source was booted")
	}
	for _, marker := range []string{dir, small, work} {
		if procs := packertest.QemuProcesses(marker); len(procs) > 0 {
			t.Fatalf("QEMU still runs: %v", procs)
		}
	}
	// Nothing stays: the output directory's lock file is in the user's
	// cache, not beside it.
	entries, _ := os.ReadDir(small)
	for _, e := range entries {
		t.Errorf("the full filesystem still holds %s", e.Name())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(tmp, "packer-kvm-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left in the build's TMPDIR: %v", leftovers)
	}
}

// Issue 15 item 1: the project's example feeds kvm-cloudimage's outputs
// into the builder; `packer validate` (without -evaluate-datasources)
// hands the builder Packer's unknown placeholders and must accept them.
func TestAccValidate_exampleWithUnknownDataSourceValues(t *testing.T) {
	env := packertest.Setup(t)
	example, err := filepath.Abs(filepath.Join("..", "..", "example"))
	if err != nil {
		t.Fatal(err)
	}
	res := env.Run(t, example, "validate", ".")
	if res.ExitCode != 0 || !strings.Contains(res.Output, "The configuration is valid") {
		t.Fatalf("packer validate example/ failed:\n%s", res.Output)
	}
}

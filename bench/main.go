// Command bench measures the kvm builder against a lean hand-run sequence
// doing the same job on the same image, in one run, phase by phase:
//
//	boot-to-SSH, provision, shutdown, snapshot, total
//
// The lean sequence is what a careful person would type: qemu-img create
// an overlay, boot it with a stock cloud-init seed, ssh `true`, ssh `echo
// hello`, power off over ssh, qemu-img convert. It prints medians and the
// ratio ours/lean; figures are never asserted (machines differ).
//
//	go run ./bench -image $(scripts/base-image.sh) -runs 3
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

var phases = []string{"boot-to-SSH", "provision", "shutdown", "snapshot", "total"}

type timings map[string]time.Duration

// accelerator is the one the plugin chose in its last build (KVM where the
// host runs it, else TCG); the lean sequence uses it too.
var accelerator = "tcg"

func main() {
	image := flag.String("image", os.Getenv("KVM_TEST_IMAGE"), "the guest image (scripts/base-image.sh)")
	runs := flag.Int("runs", 3, "runs of each sequence")
	packer := flag.String("packer", ".tools/bin/packer", "the packer CLI, with the plugin installed")
	suite := flag.String("suite", "all", "build, export, warm, installer or all")
	installer := flag.String("installer", os.Getenv("KVM_TEST_INSTALLER"), "the installer fixture (scripts/installer-fixture.sh), for -suite installer")
	flag.Parse()
	if *image == "" && *suite != "installer" {
		fail("give -image (the output of scripts/base-image.sh)")
	}
	// Packer runs in per-run directories: its path must not be relative.
	abs, err := filepath.Abs(*packer)
	check(err)
	*packer = abs
	work, err := os.MkdirTemp("", "kvm-bench-")
	check(err)
	defer os.RemoveAll(work)

	if *suite == "installer" {
		if *installer == "" {
			fail("give -installer (the output of scripts/installer-fixture.sh)")
		}
		runInstallerBench(*packer, *installer, *runs, work)
		return
	}
	if *suite == "export" || *suite == "all" {
		runExportBench(*packer, *image, *runs, work)
	}
	if *suite == "export" {
		return
	}
	if *suite == "warm" || *suite == "all" {
		runWarmBench(*packer, *image, *runs, work)
	}
	if *suite == "warm" {
		return
	}
	var ours, lean []timings
	for i := 0; i < *runs; i++ {
		// Alternate, so that drift on the machine hits both alike; ours
		// first, so the lean sequence uses the accelerator it chose.
		fmt.Fprintf(os.Stderr, "run %d/%d: packer build\n", i+1, *runs)
		ours = append(ours, runPacker(*packer, *image, filepath.Join(work, fmt.Sprint("ours", i))))
		fmt.Fprintf(os.Stderr, "run %d/%d: lean sequence (%s)\n", i+1, *runs, accelerator)
		lean = append(lean, runLean(*image, filepath.Join(work, fmt.Sprint("lean", i))))
	}
	report(ours, lean, *runs)
}

func report(ours, lean []timings, runs int) {
	fmt.Printf("kvm builder vs lean hand-run sequence, %d runs each, medians\n\n", runs)
	fmt.Printf("| phase | ours | lean | ours/lean |\n| --- | ---: | ---: | ---: |\n")
	for _, p := range phases {
		o, l := median(ours, p), median(lean, p)
		fmt.Printf("| %s | %.1f s | %.1f s | %.2fx |\n", p, o.Seconds(), l.Seconds(), o.Seconds()/l.Seconds())
	}
	fmt.Printf("\nSSH detection lag (ours): %.2f s from the guest's sshd \"Server listening\" to the builder's \"SSH is up\"\n",
		median(ours, "ssh-lag").Seconds())
}

func median(all []timings, phase string) time.Duration {
	var v []time.Duration
	for _, t := range all {
		v = append(v, t[phase])
	}
	return medianOf(v)
}

func medianOf(v []time.Duration) time.Duration {
	v = append([]time.Duration(nil), v...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2]
}

// runPacker runs the standard job through the plugin. Each output line is
// stamped with the host time it arrives (Packer streams its UI line by
// line), which bounds the provisioning phase and dates SSH detection.
func runPacker(packer, image, dir string) timings {
	check(os.MkdirAll(dir, 0o755))
	template := fmt.Sprintf(`
source "kvm" "bench" {
  source_image_url      = %q
  source_image_checksum = "none"
  ssh_username          = "packer"
  memory                = 1024
  output_directory      = %q
}
build {
  sources = ["source.kvm.bench"]
  provisioner "shell" { inline = ["true", "echo hello", "echo SSHD=$(sudo journalctl -u ssh -o short-unix --no-pager | grep -m1 'Server listening' | cut -d' ' -f1) GUESTNOW=$(date +%%s.%%N)"] }
}
`, image, filepath.Join(dir, "out"))
	check(os.WriteFile(filepath.Join(dir, "bench.pkr.hcl"), []byte(template), 0o644))
	marks := map[string]time.Time{}
	var sshdListening, guestNow float64
	var guestNowArrived time.Time
	text, total := streamBuild(packer, dir, func(line string, at time.Time) {
		for _, key := range []string{"SSH is up", "Shutting down with"} {
			if _, seen := marks[key]; !seen && strings.Contains(line, key) {
				marks[key] = at
			}
		}
		if i := strings.Index(line, "SSHD="); i >= 0 {
			fmt.Sscanf(line[i:], "SSHD=%f GUESTNOW=%f", &sshdListening, &guestNow)
			guestNowArrived = at
		}
	})
	output := []byte(text)
	// The last line counts: a build that KVM failed before SSH restarts
	// under TCG and says so in a second Accelerator line.
	if all := regexp.MustCompile(`Accelerator: (\w+)`).FindAllSubmatch(output, -1); len(all) > 0 {
		accelerator = string(all[len(all)-1][1])
	}
	// The plugin reports its own phase durations to a tenth of a second.
	t := timings{
		"boot-to-SSH": reported(output, `SSH is up after (\S+)`),
		"provision":   marks["Shutting down with"].Sub(marks["SSH is up"]),
		"shutdown":    reported(output, `powered off after (\S+)`),
		"snapshot":    reported(output, `written in (\S+)`),
		"total":       total,
	}
	if sshdListening > 0 && guestNow > 0 {
		// Host time of the guest's "Server listening", correcting for the
		// guest clock's offset as seen when GUESTNOW arrived.
		offset := guestNowArrived.Sub(time.Unix(0, int64(guestNow*1e9)))
		listening := time.Unix(0, int64(sshdListening*1e9)).Add(offset)
		t["ssh-lag"] = marks["SSH is up"].Sub(listening)
	}
	return t
}

func reported(out []byte, pattern string) time.Duration {
	m := regexp.MustCompile(pattern).FindSubmatch(out)
	if m == nil {
		fail("packer output lacks %q", pattern)
	}
	d, err := time.ParseDuration(string(m[1]))
	check(err)
	return d
}

// runLean is the hand-run baseline.
func runLean(image, dir string) timings {
	check(os.MkdirAll(dir, 0o755))
	key := filepath.Join(dir, "id")
	run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
	pub, _ := os.ReadFile(key + ".pub")
	userData := fmt.Sprintf("#cloud-config\nusers:\n  - name: packer\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    ssh_authorized_keys: [%q]\n", strings.TrimSpace(string(pub)))
	check(os.WriteFile(filepath.Join(dir, "user-data"), []byte(userData), 0o644))
	check(os.WriteFile(filepath.Join(dir, "meta-data"), []byte("instance-id: lean-"+filepath.Base(dir)+"\n"), 0o644))
	seed := filepath.Join(dir, "seed.img")
	run("truncate", "-s", "2M", seed)
	run("mkfs.vfat", "-n", "CIDATA", seed)
	run("mcopy", "-i", seed, filepath.Join(dir, "user-data"), filepath.Join(dir, "meta-data"), "::/")

	total := time.Now()
	overlay := filepath.Join(dir, "disk.qcow2")
	run("qemu-img", "create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay)
	port := freePort()
	cpu := map[string]string{"kvm": "host"}[accelerator]
	if cpu == "" {
		cpu = "max"
	}
	qemu := exec.Command("qemu-system-x86_64", "-accel", accelerator, "-machine", "q35", "-cpu", cpu, "-smp", "2", "-m", "1024M",
		"-nodefaults", "-display", "none", "-serial", "file:"+filepath.Join(dir, "serial.log"),
		"-drive", "file="+overlay+",if=virtio,discard=unmap", "-drive", "file="+seed+",if=virtio,format=raw",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22", port), "-device", "virtio-net-pci,netdev=n0",
		"-device", "virtio-rng-pci")
	boot := time.Now()
	check(qemu.Start())
	exited := make(chan error, 1)
	go func() { exited <- qemu.Wait() }()
	ssh := func(ctx context.Context, command string) error {
		return exec.CommandContext(ctx, "ssh", "-q", "-i", key, "-p", fmt.Sprint(port), "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=2", "-o", "BatchMode=yes", "packer@127.0.0.1", command).Run()
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := ssh(ctx, "true")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			qemu.Process.Kill()
			fail("lean sequence: no SSH after 5 minutes")
		}
		time.Sleep(250 * time.Millisecond)
	}
	t := timings{"boot-to-SSH": time.Since(boot)}
	provision := time.Now()
	check(ssh(context.Background(), "echo hello"))
	t["provision"] = time.Since(provision)
	shutdown := time.Now()
	_ = ssh(context.Background(), "sudo systemctl poweroff")
	<-exited
	t["shutdown"] = time.Since(shutdown)
	snapshot := time.Now()
	run("qemu-img", "convert", "-O", "qcow2", "-c", "-o", "compression_type=zstd", overlay, filepath.Join(dir, "lean.qcow2"))
	t["snapshot"] = time.Since(snapshot)
	t["total"] = time.Since(total)
	return t
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		fail("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

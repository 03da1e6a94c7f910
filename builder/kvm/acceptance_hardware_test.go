package kvm

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// secureBootImage is the Secure Boot variant of the test image
// (scripts/secureboot-image.sh), which `make testacc` passes in
// KVM_TEST_IMAGE_SECUREBOOT.
func secureBootImage(t *testing.T) string {
	t.Helper()
	image := os.Getenv("KVM_TEST_IMAGE_SECUREBOOT")
	if image == "" {
		t.Fatal("KVM_TEST_IMAGE_SECUREBOOT is not set: run `make testacc`, or set it to the output of scripts/secureboot-image.sh")
	}
	return image
}

// processesOf lists running processes of the program whose command line
// holds marker (a test's directory).
func processesOf(program, marker string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(data), "\x00")
		cmdline := strings.Join(args, " ")
		if strings.Contains(filepath.Base(args[0]), program) && strings.Contains(cmdline, marker) {
			found = append(found, cmdline)
		}
	}
	return found
}

// tempEntries are the builder's temporary directories (QMP and swtpm
// sockets) that exist now, of this test or of others.
func tempEntries() map[string]bool {
	found := map[string]bool{}
	entries, _ := filepath.Glob(filepath.Join(os.TempDir(), "packer-kvm-*"))
	for _, e := range entries {
		found[e] = true
	}
	return found
}

// assertNothingLeft checks that no QEMU or swtpm of the test runs and that
// no temporary file (beyond those that existed before) or work directory
// is left.
func assertNothingLeft(t *testing.T, dir string, before map[string]bool) {
	t.Helper()
	for _, program := range []string{"qemu-system", "swtpm"} {
		if procs := processesOf(program, dir); len(procs) > 0 {
			t.Errorf("%s still runs: %v", program, procs)
		}
	}
	for e := range tempEntries() {
		if !before[e] {
			t.Errorf("temporary file left: %s", e)
		}
	}
	for _, pattern := range []string{"output-*/" + workDirPrefix + "*", "output-*/.*.tmp"} {
		if leftovers, _ := filepath.Glob(filepath.Join(dir, pattern)); len(leftovers) > 0 {
			t.Errorf("work files left: %v", leftovers)
		}
	}
}

// One build, four sources side by side:
//   - sb: Secure Boot and a TPM on the image with Debian's signed boot chain;
//   - unsigned: the base image (unsigned systemd-boot) with Secure Boot,
//     which the firmware refuses and the build reports at once;
//   - nvme and scsi: the disk on NVMe (with an additional disk the
//     provisioner writes) and on virtio-scsi (with a vmxnet3 card: the
//     test image's cloud kernel has no e1000 or AHCI driver); both fill
//     and free 300 MiB of random data and trim, which must not reach the image.
func TestAccHardware_secureBootTPMDisksAndNetwork(t *testing.T) {
	env := packertest.Setup(t)
	sbImage := secureBootImage(t)
	slow := `cpus = 1
  ssh_timeout = "25m"`
	dir := packertest.WriteTemplate(t,
		sourceBlock("sb", sbImage, slow+`
  firmware    = "uefi"
  secure_boot = true
  tpm         = true`)+
			sourceBlock("unsigned", env.Image, slow+`
  firmware    = "uefi"
  secure_boot = true`)+
			sourceBlock("nvme", env.Image, slow+`
  disk_interface = "nvme"
  additional_disks {
    size  = "64M"
    label = "data"
  }`)+
			sourceBlock("scsi", env.Image, slow+`
  disk_interface = "virtio-scsi"
  net_device     = "vmxnet3"
  mac_address    = "52:54:00:aa:bb:01"`)+`
build {
  sources = ["source.kvm.sb", "source.kvm.unsigned", "source.kvm.nvme", "source.kvm.scsi"]
  provisioner "shell" {
    only   = ["kvm.sb"]
    inline = [
      "echo SB=$(mokutil --sb-state)",
      "test -c /dev/tpmrm0 && echo TPM-DEVICE",
      "sudo tpm2_pcrread sha256:0,7 | tr -d ' ' | sed 's/^/PCR:/'",
    ]
  }
  provisioner "shell" {
    only   = ["kvm.nvme", "kvm.scsi"]
    inline = [
      "echo ROOTDEV=$(findmnt -no SOURCE /)",
      "echo NIC=$(cat /sys/class/net/*/address | grep -v 00:00:00:00:00:00) DRIVER=$(basename $(readlink /sys/class/net/e*/device/driver))",
      "sudo dd if=/dev/urandom of=/var/tmp/fill bs=1M count=300 status=none",
      "sync; sudo rm /var/tmp/fill; sync",
      "sudo fstrim -v /",
    ]
  }
  provisioner "shell" {
    only   = ["kvm.nvme"]
    inline = [
      "d=$(lsblk -dnbo NAME,SIZE | awk '$2 == 67108864 { print $1 }')",
      "echo DATADISK=$d",
      "sudo mkfs.ext4 -q /dev/$d",
      "sudo mount /dev/$d /mnt && echo hw-marker-4711 | sudo tee /mnt/marker && sudo umount /mnt",
    ]
  }
  post-processor "shell-local" {
    only   = ["kvm.nvme"]
    inline = ["echo FILES=${build.AdditionalDiskPaths}"]
  }
}
`)
	before := tempEntries()
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode == 0 {
		t.Fatal("the build with an unsigned boot loader under Secure Boot succeeded")
	}
	mustContain(t, res.Output,
		// Debian's ovmf describes its Secure Boot build by the symlink
		// OVMF_CODE_4M.ms.fd (to OVMF_CODE_4M.secboot.fd).
		"UEFI firmware with Secure Boot: /usr/share/OVMF/OVMF_CODE_4M.ms.fd, keys from /usr/share/OVMF/OVMF_VARS_4M.ms.fd (QEMU firmware descriptor /usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json)",
		"Started a software TPM 2.0 (swtpm)",
		"kvm.sb: SB=SecureBoot enabled", "kvm.sb: TPM-DEVICE", "kvm.sb: PCR:sha256:", "kvm.sb: PCR:7:0x",
		"Build 'kvm.unsigned' errored",
		"the UEFI firmware refused to start the guest's boot loader",
		": Access Denied",
		"kvm.nvme: ROOTDEV=/dev/nvme0n1p2", "kvm.nvme: DATADISK=nvme1n1", "DRIVER=virtio_net\n",
		"kvm.scsi: ROOTDEV=/dev/sda2", "kvm.scsi: NIC=52:54:00:aa:bb:01 DRIVER=vmxnet3",
		"Build 'kvm.sb' finished", "Build 'kvm.nvme' finished", "Build 'kvm.scsi' finished",
	)
	if strings.Contains(res.Output, "boot_progress_timeout") {
		t.Error("the refused boot waited for boot_progress_timeout instead of failing at once")
	}
	if _, err := os.Stat(filepath.Join(dir, "output-unsigned")); !os.IsNotExist(err) {
		t.Error("the refused build left output-unsigned behind")
	}

	// The additional disk is its own image, listed in the build's data,
	// with what the provisioner wrote.
	data := filepath.Join(dir, "output-nvme", "nvme-data.qcow2")
	mustContain(t, res.Output, "FILES=output-nvme/nvme-data.qcow2\n")
	if _, err := os.Stat(data + ".sha256"); err != nil {
		t.Errorf("no checksum file beside the additional disk: %v", err)
	}
	if got := readExt4File(t, data, "/marker"); got != "hw-marker-4711\n" {
		t.Errorf("the additional disk's /marker holds %q", got)
	}

	// Trimmed: 300 MiB of random data written and freed is not in the
	// image, which stays below the Secure Boot image (the base image plus
	// the signed boot chain and tpm2-tools) plus half of it.
	limit := mustFileSize(t, filepath.Join(dir, "output-sb", "sb.qcow2")) + 150<<20
	for _, name := range []string{"nvme", "scsi"} {
		if size := mustFileSize(t, filepath.Join(dir, "output-"+name, name+".qcow2")); size > limit {
			t.Errorf("%s image is %d bytes, over %d: the freed data was not trimmed", name, size, limit)
		}
	}
	assertNothingLeft(t, dir, before)
}

func mustFileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// readExt4File reads a file from an image holding a bare ext4 filesystem.
func readExt4File(t *testing.T, image, path string) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "disk.raw")
	if out, err := exec.Command("qemu-img", "convert", "-O", "raw", image, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v\n%s", err, out)
	}
	out, err := exec.Command("debugfs", "-R", "cat "+path, raw).Output()
	if err != nil {
		t.Fatalf("debugfs: %v", err)
	}
	return string(out)
}

// Ctrl-C while a Secure Boot + TPM guest boots stops QEMU and swtpm and
// leaves nothing behind.
func TestAccHardware_interruptStopsSwtpm(t *testing.T) {
	env := packertest.Setup(t)
	dir := packertest.WriteTemplate(t, sourceBlock("cancel", secureBootImage(t), `firmware = "uefi"
  secure_boot = true
  tpm         = true
  additional_disks { size = "16M" }`)+`
build { sources = ["source.kvm.cancel"] }
`)
	before := tempEntries()
	cmd := env.Command(dir, "build", ".")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	seen, readerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readerDone)
		scanner := bufio.NewScanner(stdout)
		signalled := false
		for scanner.Scan() {
			log.WriteString(scanner.Text() + "\n")
			if !signalled && strings.Contains(scanner.Text(), "Waiting for the guest's SSH server") {
				signalled = true
				close(seen)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-seen:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("never reached the boot:\n%s", log.String())
	}
	time.Sleep(2 * time.Second)
	if procs := processesOf("swtpm", dir); len(procs) != 1 {
		t.Errorf("want one swtpm while the guest boots, got %v", procs)
	}
	packertest.InterruptAndWait(t, cmd)
	<-readerDone
	if !strings.Contains(log.String(), "Deleting output directory") {
		t.Errorf("the build was not interrupted:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "output-cancel")); !os.IsNotExist(err) {
		t.Error("the interrupted build left output-cancel behind")
	}
	assertNothingLeft(t, dir, before)
}

// QEMU itself accepts every device choice on the machines that have it: a
// paused VM (no guest runs) with each disk interface, network card, Secure
// Boot and TPM must start and stay up.
func TestAccHardware_qemuAcceptsEveryDeviceChoice(t *testing.T) {
	packertest.Setup(t)
	dir := t.TempDir()
	for _, name := range []string{"disk.qcow2", "d1.qcow2"} {
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(dir, name), "16M").CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	seed := filepath.Join(dir, "seed.img")
	os.WriteFile(seed, make([]byte, 1<<20), 0o644)
	cases := map[string]qemu.Hardware{}
	for _, iface := range []string{"virtio-blk", "virtio-scsi", "nvme", "sata"} {
		cases[iface] = qemu.Hardware{MachineType: "q35", DiskInterface: iface}
	}
	cases["ide on pc, rtl8139"] = qemu.Hardware{MachineType: "pc", DiskInterface: "ide", NetDevice: "rtl8139"}
	for _, nic := range []string{"e1000", "e1000e", "vmxnet3"} {
		cases[nic] = qemu.Hardware{MachineType: "q35", NetDevice: nic, MACAddress: "52:54:00:12:34:56"}
	}
	cases["secure boot"] = qemu.Hardware{MachineType: "q35", SecureBoot: true}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			m := qemu.Media{Accelerator: "tcg", Overlay: filepath.Join(dir, "disk.qcow2"), Seed: seed, SSHHostPort: 45022,
				QMPSocket: filepath.Join(dir, "qmp.sock"), SerialLog: filepath.Join(dir, "serial.log"), VNCDisplay: -1,
				AdditionalDisks: []string{filepath.Join(dir, "d1.qcow2")}}
			if h.SecureBoot {
				vars := filepath.Join(dir, "vars.fd")
				if err := fileutil.CopyFile("/usr/share/OVMF/OVMF_VARS_4M.ms.fd", vars, 0o600); err != nil {
					t.Fatal(err)
				}
				m.EFICode, m.EFIVars = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", vars
			}
			args := append(qemu.Args(qemu.Spec{Name: "devices", MachineType: h.MachineType, CPUs: 1, MemoryMiB: 256, Hardware: h}, m), "-S")
			cmd := exec.Command("qemu-system-x86_64", args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				t.Fatalf("QEMU refused %s: %v: %s", strings.Join(args, " "), err, stderr.String())
			case <-time.After(2 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		})
	}
}

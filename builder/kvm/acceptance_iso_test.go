package kvm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/packertest"
)

// installerFixture is the directory scripts/installer-fixture.sh prints:
// installer.iso and http/ (install.sh, rootfs.tar.gz).
func installerFixture(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KVM_TEST_INSTALLER")
	if dir == "" {
		t.Fatal("KVM_TEST_INSTALLER is not set: run `make testacc`, or set it to the output of scripts/installer-fixture.sh")
	}
	return dir
}

// An installer build end to end, with no fixed wait: boot_wait is 0s and
// the boot command waits for what GRUB prints on the serial console
// (<waitSerial>) before it opens the menu's editor and before it edits the
// kernel line to append the install script's URL on the HTTP server. The
// installer in the initramfs partitions and formats the blank disk,
// installs Debian and its boot loaders, creates the user with a password,
// copies the cd_files CD and reboots; the installed disk boots in the same
// QEMU, the build logs in with the password, provisions, shuts down with
// shutdown_command and snapshots. A second build, from that image as a
// cloud image, boots it. (TestAccBuilder_aSilentSerialInstallerIsNotStopped
// covers the fixed-wait boot command.)
func TestAccBuilder_installsFromAnISO(t *testing.T) {
	env := packertest.Setup(t)
	fixture := installerFixture(t)
	iso := filepath.Join(fixture, "installer.iso")
	marker := filepath.Join(t.TempDir(), "marker.txt")
	if err := os.WriteFile(marker, []byte("from-cd-files\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// One installer source per firmware, built side by side: GRUB's menu
	// comes from the ISO's El Torito image under SeaBIOS and from its EFI
	// system partition under OVMF, and the installed disk boots through
	// extlinux and through systemd-boot respectively. Under SeaBIOS the
	// boot command is typed on the serial console (GRUB reads it:
	// terminal_input console serial), under OVMF over VNC.
	source := func(name, firmware, input string) string {
		return fmt.Sprintf(`
source "kvm" %q {
  iso_url            = %q
  iso_checksum       = "sha256:%s"
  firmware           = %q
  disk_size          = "3G"
  memory             = 1024
  http_directory     = %q
  cd_files           = [%q]
  cd_content         = { "notes/readme.txt" = "from-cd-content" }
  cd_label           = "INSTDATA"
  boot_wait          = "0s"
  boot_command_input = %q
  # The menu's entry, then GRUB's editor, which shows the entry as
  # "setparams '<title>'", a blank line, then its commands: "insmod gzio",
  # "linux ...", "initrd ..." (the last line drawn).
  boot_command       = ["<waitSerial 'Install Debian \\(kvm builder fixture\\)'>e<waitSerial 'initrd /boot/initrd.img'><down><down><down><end> url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/install.sh<f10>"]
  ssh_username       = "packer"
  ssh_password       = "packer"
  ssh_timeout        = "20m"
  shutdown_command   = "echo packer | sudo -S poweroff"
}
`, name, iso, mustFileSHA256(t, iso), firmware, filepath.Join(fixture, "http"), marker, input)
	}
	dir := packertest.WriteTemplate(t, source("installer", "bios", "serial")+source("installer-uefi", "uefi", "vnc")+`
build {
  sources = ["source.kvm.installer", "source.kvm.installer-uefi"]
  provisioner "shell" {
    inline = [
      "echo CD=$(cat /var/lib/installer-cd/marker.txt) CONTENT=$(cat /var/lib/installer-cd/notes/readme.txt)",
      "echo HOST=$(hostname) CLOUDINIT=$(test -e /etc/cloud/cloud-init.disabled && echo disabled)",
      "echo FIRMWARE=$(test -d /sys/firmware/efi && echo uefi || echo bios)",
      "echo installed-and-provisioned | sudo tee /etc/packer-marker",
    ]
  }
  post-processor "shell-local" {
    inline = ["echo SOURCE=${build.SourceImageURL} SUM=${build.SourceImageChecksum} IMAGE=${build.ImagePath}"]
  }
}
`)
	start := time.Now()
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatalf("installer build failed")
	}
	t.Logf("the two installer builds took %s", time.Since(start).Round(time.Second))
	mustContain(t, res.Output,
		"kvm.installer: Typing the boot command on the serial console",
		"kvm.installer-uefi: VNC: connect to 127.0.0.1:", "kvm.installer-uefi: Typing the boot command over VNC",
		"Waiting for <waitSerial 'initrd /boot/initrd.img'> on the serial console",
		"CD=from-cd-files CONTENT=from-cd-content", "HOST=installed CLOUDINIT=disabled",
		"kvm.installer: FIRMWARE=bios", "kvm.installer-uefi: FIRMWARE=uefi",
		"SOURCE="+iso, "SUM=sha256:", "IMAGE="+filepath.Join("output-installer", "installer.qcow2"),
		"IMAGE="+filepath.Join("output-installer-uefi", "installer-uefi.qcow2"))
	if strings.Contains(res.Output, "kvm.installer: VNC:") {
		t.Fatal("the build typing over serial started a VNC display")
	}
	image := filepath.Join(dir, "output-installer", "installer.qcow2")
	info := qemuImgInfo(t, image)
	if _, backed := info["backing-filename"]; backed || info["format"] != "qcow2" || info["virtual-size"] != float64(3<<30) {
		t.Fatalf("image is not a standalone 3 GiB qcow2: %v", info)
	}

	second := packertest.WriteTemplate(t, fmt.Sprintf(`
source "kvm" "reboot" {
  source_image_url      = %q
  source_image_checksum = "none"
  memory                = 1024
  ssh_username          = "packer"
  ssh_password          = "packer"
  wait_for_cloud_init   = false
  keep_build_access     = true
}
build {
  sources = ["source.kvm.reboot"]
  provisioner "shell" { inline = ["echo MARKER=$(cat /etc/packer-marker)"] }
}
`, image))
	res2 := env.Run(t, second, "build", ".")
	if res2.ExitCode != 0 {
		t.Fatal("the build from the installed image failed")
	}
	mustContain(t, res2.Output, "MARKER=installed-and-provisioned")
}

func mustFileSHA256(t *testing.T, path string) string {
	t.Helper()
	sum, _, err := fileutil.SHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// An installer that prints nothing on the serial console, as Debian's and
// Ubuntu's do, is not stopped as a guest that does not boot: the fixture's
// kernel line loses console=ttyS0 in the boot_command (21 backspaces), so
// after GRUB's menu the serial console is silent through the whole install
// (the kernel and the installer write to the screen and the disk only)
// until the installed system boots. boot_progress_timeout is far shorter
// than the install, which the serial rule alone used to stop at that
// timeout. The boot command is typed over the VNC display's password.
func TestAccBuilder_aSilentSerialInstallerIsNotStopped(t *testing.T) {
	env := packertest.Setup(t)
	fixture := installerFixture(t)
	iso := filepath.Join(fixture, "installer.iso")
	dir := packertest.WriteTemplate(t, fmt.Sprintf(`
source "kvm" "silent" {
  iso_url               = %q
  iso_checksum          = "sha256:%s"
  disk_size             = "3G"
  memory                = 1024
  http_directory        = %q
  boot_wait             = "20s"
  boot_command          = ["e<wait><down><down><down><end>%s url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/install.sh<wait><f10>"]
  boot_progress_timeout = "40s"
  serial_log_file       = "serial.log"
  ssh_username          = "packer"
  ssh_password          = "packer"
  ssh_timeout           = "20m"
  shutdown_command      = "echo packer | sudo -S poweroff"
}
build {
  sources = ["source.kvm.silent"]
  provisioner "shell" { inline = ["echo CMDLINE=$(cat /proc/cmdline)"] }
}
`, iso, mustFileSHA256(t, iso), filepath.Join(fixture, "http"), strings.Repeat("<bs>", len(" console=ttyS0,115200"))))
	res := env.Run(t, dir, "build", ".")
	if res.ExitCode != 0 {
		t.Fatal("the silent installer's build failed")
	}
	mustContain(t, res.Output, "password is in", "Typing the boot command over VNC", "CMDLINE=", "root=UUID=")
	serial, err := os.ReadFile(filepath.Join(dir, "serial.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(serial), "installer: extracting the system") {
		t.Fatalf("the installer printed on the serial console: the test did not silence it:\n%s", serial)
	}
}

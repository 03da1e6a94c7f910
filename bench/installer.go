package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The installer fixture's boot command (scripts/installer-fixture.sh), as
// the acceptance tests type it: with today's fixed waits (boot_wait and
// <wait>, over VNC), and driven by what GRUB prints on the serial console
// (<waitSerial>), typed over VNC and over serial. Typed over serial, the VM
// has no display at all (no VGA for the kernel's console to draw on, no
// screendumps), which the middle variant separates from the waits.
const (
	fixedWaitBoot = `
  boot_wait    = "20s"
  boot_command = ["e<wait><down><down><down><end> url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/install.sh<wait><f10>"]`
	waitSerialCommand = `
  boot_command = ["<waitSerial 'Install Debian'>e<waitSerial 'initrd /boot/initrd.img'><down><down><down><end> url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/install.sh<f10>"]`
	serialDrivenVNCBoot = waitSerialCommand
	serialDrivenBoot    = `
  boot_command_input = "serial"` + waitSerialCommand
)

// runInstallerBench builds the installer fixture (BIOS) per run with the
// fixed-wait boot command, then serial-driven typed over VNC, then typed
// over serial, one after the other, and prints the medians of the time
// from starting the VM to the boot command typed, and of the whole build,
// against the fixed waits.
func runInstallerBench(packer, fixture string, runs int, work string) {
	variants := []struct{ name, boot string }{
		{"fixed waits, VNC", fixedWaitBoot},
		{"<waitSerial>, VNC", serialDrivenVNCBoot},
		{"<waitSerial>, serial", serialDrivenBoot},
	}
	boot := make([][]time.Duration, len(variants))
	total := make([][]time.Duration, len(variants))
	for i := 0; i < runs; i++ {
		for v, variant := range variants {
			fmt.Fprintf(os.Stderr, "installer run %d/%d: %s\n", i+1, runs, variant.name)
			b, t := runInstallerJob(packer, fixture, filepath.Join(work, fmt.Sprintf("installer%d-%d", i, v)), variant.boot)
			boot[v], total[v] = append(boot[v], b), append(total[v], t)
		}
	}
	fmt.Printf("installer build (fixture, BIOS, %s), %d runs each, medians\n\n", accelerator, runs)
	fmt.Printf("| boot command | VM start to typed | total | total vs fixed waits |\n| --- | ---: | ---: | ---: |\n")
	base := medianOf(total[0])
	for v, variant := range variants {
		b, t := medianOf(boot[v]), medianOf(total[v])
		fmt.Printf("| %s | %.1f s | %.1f s | %.2fx |\n", variant.name, b.Seconds(), t.Seconds(), t.Seconds()/base.Seconds())
	}
}

// runInstallerJob builds the fixture with boot (the boot options) and
// returns the time from "Starting the VM" to the wait for SSH (the boot
// command typed) and the whole build's.
func runInstallerJob(packer, fixture, dir, boot string) (time.Duration, time.Duration) {
	check(os.MkdirAll(dir, 0o755))
	iso := filepath.Join(fixture, "installer.iso")
	template := fmt.Sprintf(`
source "kvm" "installer" {
  iso_url          = %q
  iso_checksum     = "none"
  disk_size        = "3G"
  memory           = 1024
  http_directory   = %q
  output_directory = %q
  ssh_username     = "packer"
  ssh_password     = "packer"
  ssh_timeout      = "20m"
  shutdown_command = "echo packer | sudo -S poweroff"
%s
}
build {
  sources = ["source.kvm.installer"]
  provisioner "shell" { inline = ["true"] }
}
`, iso, filepath.Join(fixture, "http"), filepath.Join(dir, "out"), boot)
	check(os.WriteFile(filepath.Join(dir, "bench.pkr.hcl"), []byte(template), 0o644))
	var vmStarted, typed time.Time
	_, total := streamBuild(packer, dir, func(line string, at time.Time) {
		if vmStarted.IsZero() && strings.Contains(line, "Starting the VM") {
			vmStarted = at
		}
		if typed.IsZero() && strings.Contains(line, "Waiting for the guest's SSH server") {
			typed = at
		}
		if i := strings.Index(line, "Accelerator: "); i >= 0 {
			accelerator = strings.TrimSuffix(strings.Fields(line[i+len("Accelerator: "):])[0], ",")
		}
	})
	return typed.Sub(vmStarted), total
}

package kvm

import (
	"fmt"
	"strings"
)

// qemuargsRefusals are the QEMU options qemuargs may not hold: each
// replaces what a builder option governs (QEMU takes the last -machine,
// -cpu, -m, ... of its command line, where qemuargs come), or breaks the
// build's control of the VM. The value says why and what to use instead.
var qemuargsRefusals = map[string]string{
	"-machine":    "it replaces the builder's machine (QEMU takes the last one): set machine_type, which takes properties too, such as \"q35,hpet=off\"",
	"-M":          "it replaces the builder's machine (QEMU takes the last one): set machine_type, which takes properties too, such as \"q35,hpet=off\"",
	"-accel":      "it replaces the builder's accelerator: set accelerator",
	"-enable-kvm": "it replaces the builder's accelerator: set accelerator = \"kvm\"",
	"-cpu":        "it replaces the builder's CPU model: set cpu_model",
	"-smp":        "it replaces the builder's CPU count: set cpus",
	"-m":          "it replaces the builder's memory size: set memory",
	"-bios":       "it replaces the builder's firmware: set firmware, efi_firmware_code and efi_firmware_vars",
	"-pflash":     "it replaces the builder's firmware: set firmware, efi_firmware_code and efi_firmware_vars",
	"-vnc":        "it replaces the builder's VNC display, which boot_command types on: set vnc = true to watch the console",
	"-display":    "it replaces the builder's headless display: set vnc = true to watch the console",
	"-nographic":  "it moves the serial console the builder reads (boot progress, failures) to QEMU's standard output: set vnc = true to watch the console",
	"-daemonize":  "QEMU would leave the process the builder watches: the build would take the VM for dead",
	"-incoming":   "QEMU would wait for a migration instead of booting (warm_start restores a saved VM itself)",
	"-S":          "the guest would stay paused: the builder never resumes it",
	"-snapshot":   "the guest's disk writes would be thrown away: the image would not hold the build",
}

// validateQemuArgs refuses empty entries and the options above. QEMU also
// accepts the options with two dashes.
func (c *Config) validateQemuArgs() []error {
	var errs []error
	for i, arg := range c.QemuArgs {
		if len(arg) == 0 {
			errs = append(errs, fmt.Errorf("qemuargs[%d] is empty: give an option and its values, such as [\"-device\", \"virtio-rng-pci\"]", i))
		}
		for j, word := range arg {
			option := word
			if strings.HasPrefix(word, "--") {
				option = word[1:]
			}
			if !strings.HasPrefix(option, "-") {
				continue
			}
			if why, refused := qemuargsRefusals[option]; refused {
				errs = append(errs, fmt.Errorf("qemuargs[%d] %q: %s", i, word, why))
			} else if option == "-drive" && j+1 < len(arg) && strings.Contains(","+arg[j+1]+",", ",if=pflash,") {
				errs = append(errs, fmt.Errorf("qemuargs[%d] \"-drive %s\": a flash drive replaces the builder's firmware: set firmware, efi_firmware_code and efi_firmware_vars", i, arg[j+1]))
			}
		}
	}
	return errs
}

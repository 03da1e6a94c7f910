package kvm

import (
	"fmt"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// applyArchDefaults settles the guest architecture and the defaults that
// follow from it. An unknown or unsupported value keeps the host's defaults,
// and validateArch reports it.
func (c *Config) applyArchDefaults() {
	spec, err := qemu.LookupArch(c.Arch)
	if err != nil || validate.IsUnknown(c.Arch) {
		spec = qemu.ArchByName(qemu.HostArch())
	} else {
		c.Arch = spec.Name
	}
	c.arch = spec
	setDefault(&c.MachineType, spec.Machine)
	if spec.UEFIOnly {
		setDefault(&c.Firmware, "uefi")
	}
	setDefault(&c.Firmware, "bios")
	setDefault(&c.QemuBinary, spec.QemuBinary)
}

// validateArch rejects what the guest architecture cannot do: an unknown
// arch, BIOS on a UEFI-only one, another architecture's machine type, and
// KVM or the host CPU for a guest foreign to this host.
func (c *Config) validateArch() []error {
	if validate.IsUnknown(c.Arch) {
		return nil
	}
	if _, err := qemu.LookupArch(c.Arch); err != nil {
		if c.Arch == "" {
			err = fmt.Errorf("this host's architecture (%s) is not supported: set arch to x86_64 or aarch64, which run emulated", qemu.HostArch())
		}
		return []error{err}
	}
	var errs []error
	spec, host := c.arch, qemu.HostArch()
	if spec.UEFIOnly && c.Firmware == "bios" {
		errs = append(errs, fmt.Errorf("firmware \"bios\" does not exist for arch %q: %s guests boot UEFI; remove firmware or set it to \"uefi\"", c.Arch, spec.Name))
	}
	if !validate.IsUnknown(c.MachineType) && !spec.HasMachine(c.MachineType) {
		name, _, _ := strings.Cut(c.MachineType, ",")
		errs = append(errs, fmt.Errorf("machine_type %q is not a machine of arch %q: use %q (the default for %s) or leave machine_type unset", name, spec.Name, spec.Machine, spec.Name))
	}
	if !spec.KVMCanRun(host) {
		if c.Accelerator == "kvm" {
			errs = append(errs, fmt.Errorf("accelerator \"kvm\" cannot run an %s guest on this %s host: KVM only runs guests of the host's own architecture; use accelerator \"auto\" or \"tcg\", which emulate it", spec.Name, host))
		}
		if c.CPUModel == "host" {
			errs = append(errs, fmt.Errorf("cpu_model \"host\" needs KVM, which cannot run an %s guest on this %s host: leave cpu_model unset (%q) or name an %s model", spec.Name, host, spec.TCGCPU, spec.Name))
		}
	}
	return errs
}

//go:generate packer-sdc struct-markdown

package kvm

import (
	"errors"
	"fmt"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// AdditionalDisk is an extra empty data disk of the build VM.
type AdditionalDisk struct {
	// Virtual size of the disk, such as `4G` or `512M`.
	Size string `mapstructure:"size" required:"true"`
	// Names the disk's output file, `<image_name>-<label>.<format>`:
	// letters, digits, `.`, `_` and `-`. Defaults to `disk<n>`, counting
	// the additional disks from 1. Two labels may not differ only in case:
	// their files would be one on macOS and Windows.
	Label string `mapstructure:"label"`

	sizeBytes int64
}

func (c *Config) applyHardwareDefaults() {
	setDefault(&c.SwtpmBinary, "swtpm")
	setDefault(&c.DiskInterface, "virtio-blk")
	setDefault(&c.DiskCache, "writeback")
	setDefault(&c.DiskDiscard, "unmap")
	setDefault(&c.DiskDetectZeroes, "unmap")
	setDefault(&c.NetDevice, "virtio-net")
	for i := range c.AdditionalDisks {
		setDefault(&c.AdditionalDisks[i].Label, fmt.Sprintf("disk%d", i+1))
	}
}

// validateHardware checks the disk, network, Secure Boot and TPM options
// against each other and against the machine type.
func (c *Config) validateHardware() []error {
	var errs []error
	errs = appendIfErr(errs, validate.OneOf("disk_interface", c.DiskInterface, qemu.ValidDiskInterfaces))
	errs = appendIfErr(errs, validate.OneOf("disk_cache", c.DiskCache, qemu.ValidDiskCaches))
	errs = appendIfErr(errs, validate.OneOf("disk_discard", c.DiskDiscard, qemu.ValidDiskDiscards))
	errs = appendIfErr(errs, validate.OneOf("disk_detect_zeroes", c.DiskDetectZeroes, qemu.ValidDiskDetectZeroes))
	errs = appendIfErr(errs, validate.OneOf("net_device", c.NetDevice, qemu.ValidNetDevices))
	if c.DiskDetectZeroes == "unmap" && c.DiskDiscard == "ignore" {
		errs = append(errs, errors.New(`disk_detect_zeroes "unmap" needs disk_discard "unmap": set disk_detect_zeroes to "on" or "off", or remove disk_discard`))
	}
	family := qemu.MachineFamily(c.MachineType)
	if c.DiskInterface == "ide" && family != "pc" && !validate.IsUnknown(c.MachineType) {
		errs = append(errs, fmt.Errorf(`disk_interface "ide" needs an i440FX machine: machine %q has no IDE bus; set machine_type = "pc" or use disk_interface "sata"`, c.MachineType))
	}
	errs = appendIfErr(errs, qemu.CheckMAC(c.MACAddress))
	errs = append(errs, c.validateAdditionalDisks()...)
	errs = append(errs, c.validateSecureBoot(family)...)
	if c.TPM && family == "" && !validate.IsUnknown(c.MachineType) {
		errs = append(errs, fmt.Errorf("tpm needs a machine with a TPM interface: machine %q is not q35, pc or virt", c.MachineType))
	}
	return errs
}

func (c *Config) validateSecureBoot(family string) []error {
	if !c.SecureBoot {
		return nil
	}
	var errs []error
	if c.Firmware != "uefi" {
		errs = append(errs, fmt.Errorf(`secure_boot needs firmware = "uefi" (firmware is %q): Secure Boot is a UEFI feature`, c.Firmware))
	}
	if family != "q35" && !validate.IsUnknown(c.MachineType) {
		errs = append(errs, fmt.Errorf(`secure_boot needs machine_type "q35": OVMF's Secure Boot build needs SMM, which machine %q does not give it`, c.MachineType))
	}
	return errs
}

func (c *Config) validateAdditionalDisks() []error {
	disks := make([]qemu.AdditionalDiskOption, len(c.AdditionalDisks))
	for i, d := range c.AdditionalDisks {
		disks[i] = qemu.AdditionalDiskOption{Size: d.Size, Label: d.Label}
	}
	return qemu.CheckAdditionalDisks(c.DiskInterface, disks)
}

// hardware is the VM's device choice for the QEMU command line.
func (c *Config) hardware() qemu.Hardware {
	return qemu.Hardware{
		MachineType:      c.MachineType,
		DiskInterface:    c.DiskInterface,
		DiskCache:        c.DiskCache,
		DiskDiscard:      c.DiskDiscard,
		DiskDetectZeroes: c.DiskDetectZeroes,
		NetDevice:        c.NetDevice,
		MACAddress:       c.MACAddress,
		SecureBoot:       c.SecureBoot,
		Bridge:           c.NetBridge,
		BridgeHelper:     c.NetBridgeHelper,
	}
}

func (c *Config) additionalDiskLabels() []string {
	labels := make([]string, len(c.AdditionalDisks))
	for i, d := range c.AdditionalDisks {
		labels[i] = d.Label
	}
	return labels
}

//go:generate packer-sdc struct-markdown

package kvm

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

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

// Accepted values of the hardware options, in the order the docs list them.
var (
	validDiskInterfaces   = []string{"virtio-blk", "virtio-scsi", "nvme", "sata", "ide"}
	validDiskCaches       = []string{"writeback", "none", "writethrough", "directsync", "unsafe"}
	validDiskDiscards     = []string{"unmap", "ignore"}
	validDiskDetectZeroes = []string{"unmap", "on", "off"}
	validNetDevices       = []string{"virtio-net", "e1000", "e1000e", "vmxnet3", "rtl8139"}
)

var diskLabelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

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
	errs = appendIfErr(errs, validate.OneOf("disk_interface", c.DiskInterface, validDiskInterfaces))
	errs = appendIfErr(errs, validate.OneOf("disk_cache", c.DiskCache, validDiskCaches))
	errs = appendIfErr(errs, validate.OneOf("disk_discard", c.DiskDiscard, validDiskDiscards))
	errs = appendIfErr(errs, validate.OneOf("disk_detect_zeroes", c.DiskDetectZeroes, validDiskDetectZeroes))
	errs = appendIfErr(errs, validate.OneOf("net_device", c.NetDevice, validNetDevices))
	if c.DiskDetectZeroes == "unmap" && c.DiskDiscard == "ignore" {
		errs = append(errs, errors.New(`disk_detect_zeroes "unmap" needs disk_discard "unmap": set disk_detect_zeroes to "on" or "off", or remove disk_discard`))
	}
	family := qemu.MachineFamily(c.MachineType)
	if c.DiskInterface == "ide" && family != "pc" && !validate.IsUnknown(c.MachineType) {
		errs = append(errs, fmt.Errorf(`disk_interface "ide" needs an i440FX machine: machine %q has no IDE bus; set machine_type = "pc" or use disk_interface "sata"`, c.MachineType))
	}
	errs = appendIfErr(errs, validateMAC(c.MACAddress))
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
	var errs []error
	if limit := qemu.MaxDisksPerInterface[c.DiskInterface]; limit > 0 && 1+len(c.AdditionalDisks) > limit {
		errs = append(errs, fmt.Errorf("additional_disks: disk_interface %q holds %d disks, the build's own included; give at most %d additional disks or use \"virtio-scsi\"", c.DiskInterface, limit, limit-1))
	}
	seen := map[string]string{} // label by its lower-case form
	for i, d := range c.AdditionalDisks {
		field := fmt.Sprintf("additional_disks[%d]", i)
		if strings.TrimSpace(d.Size) == "" {
			errs = append(errs, fmt.Errorf("%s: size is required, such as \"4G\"", field))
		}
		if validate.IsUnknown(d.Label) {
			continue
		}
		if !diskLabelPattern.MatchString(d.Label) {
			errs = append(errs, fmt.Errorf("%s: label %q must be letters, digits, '.', '_' and '-' (it names the disk's file)", field, d.Label))
		}
		if first, dup := seen[strings.ToLower(d.Label)]; dup && first == d.Label {
			errs = append(errs, fmt.Errorf("%s: label %q is used twice: give each disk its own label", field, d.Label))
		} else if dup {
			errs = append(errs, fmt.Errorf("%s: label %q differs from label %q only in case: their files would be one file on macOS and Windows, whose filesystems ignore case; give each disk its own label", field, d.Label, first))
		} else {
			seen[strings.ToLower(d.Label)] = d.Label
		}
	}
	return errs
}

// validateMAC accepts a unicast Ethernet address in colon or dash form.
func validateMAC(mac string) error {
	if mac == "" || validate.IsUnknown(mac) {
		return nil
	}
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 || strings.Count(mac, ".") > 0 {
		return fmt.Errorf("mac_address %q is not a MAC address: write six hexadecimal pairs such as \"52:54:00:12:34:56\"", mac)
	}
	if bytes.Equal(hw, make(net.HardwareAddr, 6)) {
		return fmt.Errorf("mac_address %q is the all-zero address, which QEMU replaces with one of its own: give a unicast address such as \"52:54:00:12:34:56\", or leave it unset", mac)
	}
	if hw[0]&1 == 1 {
		return fmt.Errorf("mac_address %q is a multicast address: a network card needs a unicast one (an even first byte, such as 52:54:00:...)", mac)
	}
	return nil
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
	}
}

func (c *Config) additionalDiskLabels() []string {
	labels := make([]string, len(c.AdditionalDisks))
	for i, d := range c.AdditionalDisks {
		labels[i] = d.Label
	}
	return labels
}

package qemu

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// Accepted values of the hardware options, in the order the docs list them.
var (
	ValidDiskInterfaces   = []string{"virtio-blk", "virtio-scsi", "nvme", "sata", "ide"}
	ValidDiskCaches       = []string{"writeback", "none", "writethrough", "directsync", "unsafe"}
	ValidDiskDiscards     = []string{"unmap", "ignore"}
	ValidDiskDetectZeroes = []string{"unmap", "on", "off"}
	ValidNetDevices       = []string{"virtio-net", "e1000", "e1000e", "vmxnet3", "rtl8139"}
)

var diskLabelPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// AdditionalDiskOption is an extra data disk as the template gives it.
type AdditionalDiskOption struct {
	Size  string
	Label string
}

// CheckAdditionalDisks checks the extra data disks: that the disk
// interface holds them all, that each has a size, and that each label
// makes a file name of its own, also on filesystems that ignore case.
func CheckAdditionalDisks(diskInterface string, disks []AdditionalDiskOption) []error {
	var errs []error
	if limit := MaxDisksPerInterface[diskInterface]; limit > 0 && 1+len(disks) > limit {
		errs = append(errs, fmt.Errorf("additional_disks: disk_interface %q holds %d disks, the build's own included; give at most %d additional disks or use \"virtio-scsi\"", diskInterface, limit, limit-1))
	}
	seen := map[string]string{} // label by its lower-case form
	for i, d := range disks {
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

// CheckMAC accepts a unicast Ethernet address in colon or dash form (or
// none, or one not known yet).
func CheckMAC(mac string) error {
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

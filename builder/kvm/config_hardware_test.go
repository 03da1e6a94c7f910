package kvm

import (
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

func TestConfigHardware_defaultsKeepTheTrimFriendlyVirtioVM(t *testing.T) {
	c, _, err := prepare(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := c.hardware()
	want := qemu.Hardware{MachineType: "q35", DiskInterface: "virtio-blk", DiskCache: "writeback", DiskDiscard: "unmap", DiskDetectZeroes: "unmap", NetDevice: "virtio-net"}
	if h != want {
		t.Fatalf("default hardware %+v, want %+v", h, want)
	}
	if c.SwtpmBinary != "swtpm" || c.SecureBoot || c.TPM {
		t.Fatalf("secure boot/tpm defaults: %v %v %q", c.SecureBoot, c.TPM, c.SwtpmBinary)
	}
}

func TestConfigHardware_acceptsWhatTheMachineHas(t *testing.T) {
	for name, overrides := range map[string]map[string]interface{}{
		"secure boot + tpm on q35": {"firmware": "uefi", "secure_boot": true, "tpm": true},
		"ide on pc":                {"machine_type": "pc", "disk_interface": "ide", "tpm": true},
		"ide on versioned i440fx":  {"machine_type": "pc-i440fx-7.2", "disk_interface": "ide"},
		"tpm on virt":              {"arch": "aarch64", "firmware": "uefi", "tpm": true},
		"vmware-bound":             {"disk_interface": "sata", "net_device": "vmxnet3", "mac_address": "00:50:56:01:02:03"},
		"nvme, dash mac":           {"disk_interface": "nvme", "net_device": "e1000e", "mac_address": "52-54-00-AB-CD-EF"},
		"no detect-zeroes":         {"disk_discard": "ignore", "disk_detect_zeroes": "off", "disk_cache": "none"},
		"two labelled disks": {"disk_interface": "virtio-scsi", "additional_disks": []map[string]interface{}{
			{"size": "1G", "label": "data"}, {"size": "512M"}}},
		"unknown machine at validate": {"machine_type": validate.Unknown, "disk_interface": "ide", "secure_boot": true, "firmware": "uefi"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := prepare(t, overrides); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigHardware_rejectsImpossibleCombinations(t *testing.T) {
	for name, tc := range map[string]struct {
		overrides map[string]interface{}
		want      string
	}{
		"secure boot with bios":     {map[string]interface{}{"secure_boot": true}, `secure_boot needs firmware = "uefi"`},
		"secure boot on pc":         {map[string]interface{}{"secure_boot": true, "firmware": "uefi", "machine_type": "pc"}, `secure_boot needs machine_type "q35"`},
		"ide on q35":                {map[string]interface{}{"disk_interface": "ide"}, `disk_interface "ide" needs an i440FX machine`},
		"tpm on microvm":            {map[string]interface{}{"tpm": true, "machine_type": "microvm"}, "tpm needs a machine with a TPM interface"},
		"unknown interface":         {map[string]interface{}{"disk_interface": "scsi"}, `disk_interface "scsi" is not valid`},
		"unknown nic":               {map[string]interface{}{"net_device": "virtio"}, `net_device "virtio" is not valid`},
		"bad cache":                 {map[string]interface{}{"disk_cache": "fast"}, `disk_cache "fast" is not valid`},
		"malformed mac":             {map[string]interface{}{"mac_address": "52:54:00:12:34"}, `mac_address "52:54:00:12:34" is not a MAC address`},
		"eui-64 mac":                {map[string]interface{}{"mac_address": "02:00:5e:10:00:00:00:01"}, "is not a MAC address"},
		"multicast mac":             {map[string]interface{}{"mac_address": "01:00:5e:00:00:01"}, "is a multicast address"},
		"all-zero mac":              {map[string]interface{}{"mac_address": "00:00:00:00:00:00"}, "is the all-zero address"},
		"all-zero mac, dashes":      {map[string]interface{}{"mac_address": "00-00-00-00-00-00"}, "is the all-zero address"},
		"detect-zeroes unmap":       {map[string]interface{}{"disk_discard": "ignore"}, `disk_detect_zeroes "unmap" needs disk_discard "unmap"`},
		"disk without size":         {map[string]interface{}{"additional_disks": []map[string]interface{}{{"label": "data"}}}, "additional_disks[0]: size is required"},
		"disk with a bad size":      {map[string]interface{}{"additional_disks": []map[string]interface{}{{"size": "lots"}}}, "additional_disks[0]: size"},
		"label with a slash":        {map[string]interface{}{"additional_disks": []map[string]interface{}{{"size": "1G", "label": "../x"}}}, `label "../x" must be letters`},
		"same label twice":          {map[string]interface{}{"additional_disks": []map[string]interface{}{{"size": "1G", "label": "disk2"}, {"size": "1G"}}}, `label "disk2" is used twice`},
		"labels differing in case":  {map[string]interface{}{"additional_disks": []map[string]interface{}{{"size": "1G", "label": "DATA"}, {"size": "1G", "label": "data"}}}, `label "data" differs from label "DATA" only in case`},
		"default label in capitals": {map[string]interface{}{"additional_disks": []map[string]interface{}{{"size": "1G", "label": "Disk2"}, {"size": "1G"}}}, `label "disk2" differs from label "Disk2" only in case`},
		"too many disks on sata":    {map[string]interface{}{"disk_interface": "sata", "additional_disks": sixDisks()}, "holds 6 disks"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := prepare(t, tc.overrides)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func sixDisks() []map[string]interface{} {
	var disks []map[string]interface{}
	for i := 0; i < 6; i++ {
		disks = append(disks, map[string]interface{}{"size": "1M"})
	}
	return disks
}

func TestConfigHardware_additionalDisksGetSizesAndLabels(t *testing.T) {
	c, _, err := prepare(t, map[string]interface{}{"additional_disks": []map[string]interface{}{{"size": "1G", "label": "data"}, {"size": "512M"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.additionalDiskLabels(); strings.Join(got, ",") != "data,disk2" {
		t.Fatalf("labels %v, want data,disk2", got)
	}
	if c.AdditionalDisks[0].sizeBytes != 1<<30 || c.AdditionalDisks[1].sizeBytes != 512<<20 {
		t.Fatalf("sizes %d %d", c.AdditionalDisks[0].sizeBytes, c.AdditionalDisks[1].sizeBytes)
	}
}

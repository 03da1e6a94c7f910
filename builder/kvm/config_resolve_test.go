package kvm

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// Prepare's validation only reads the config: what the build uses is set
// by applyDefaults and resolve (settle), so validating a config twice, or
// one that failed, never leaves it half-changed. Each config is settled,
// then validated, and must print the same, every nested value included,
// before and after.
func TestConfigValidation_readsOnly(t *testing.T) {
	userData := filepath.Join(t.TempDir(), "user-data")
	os.WriteFile(userData, []byte("#cloud-config\npackages: [htop]\n"), 0o644)
	configs := map[string]map[string]interface{}{
		"minimal": nil,
		"resolved values": {
			"disk_size": "4G", "user_data_file": userData, "download_stall_timeout": "1m", "boot_progress_timeout": "0",
		},
		"hardware": {
			"disk_interface": "virtio-scsi", "net_device": "e1000", "mac_address": "52:54:00:12:34:56", "tpm": true,
			"additional_disks": []map[string]interface{}{{"size": "4G"}, {"size": "512M", "label": "data"}},
			"qemuargs":         [][]string{{"-device", "virtio-rng-pci"}},
		},
		"aarch64 uefi": {"arch": "arm64", "firmware": "uefi"},
		"installer": with(isoConfig(t), map[string]interface{}{
			"cdrom_interface": "sata", "cd_content": map[string]string{"meta-data": ""}, "boot_wait": "5s",
		}),
		"warm start":     {"warm_start": true},
		"unknown values": {"arch": validate.Unknown, "machine_type": validate.Unknown, "format": validate.Unknown, "disk_size": validate.Unknown},
		"refused": {
			"format": "vmdk", "memory": 1, "disk_interface": "scsi", "image_name": "a/b", "user_data": "hello",
			"additional_disks": []map[string]interface{}{{"size": ""}, {"size": "0"}, {"size": "1G", "label": "x/y"}},
		},
	}
	for name, overrides := range configs {
		raw := minimalConfig()
		for k, v := range overrides {
			if v == nil {
				delete(raw, k)
			} else {
				raw[k] = v
			}
		}
		var c Config
		var warnings []string
		if _, err := c.settle(&warnings, raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		before := fmt.Sprintf("%#v", c)
		errs := c.validate(&warnings)
		if after := fmt.Sprintf("%#v", c); after != before {
			t.Errorf("%s: validation changed the config:\nbefore %s\nafter  %s", name, before, after)
		}
		if refused := len(errs) > 0; refused != (name == "refused") {
			t.Errorf("%s: validation errors %v", name, errs)
		}
	}
}

// The values validation reads are there once the config is settled.
func TestConfigResolve_setsWhatTheBuildUses(t *testing.T) {
	userData := filepath.Join(t.TempDir(), "user-data")
	os.WriteFile(userData, []byte("#cloud-config\npackages: [htop]\n"), 0o644)
	c, _, err := prepare(t, map[string]interface{}{
		"disk_size": "4G", "user_data_file": userData, "download_stall_timeout": "1m", "boot_progress_timeout": "0",
		"additional_disks": []map[string]interface{}{{"size": "512M"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.diskSizeBytes != 4<<30 || c.UserData == "" || c.downloadStallTimeout != time.Minute || c.bootProgressTimeout != 0 {
		t.Fatalf("resolved %d %q %s %s", c.diskSizeBytes, c.UserData, c.downloadStallTimeout, c.bootProgressTimeout)
	}
	if d := c.AdditionalDisks[0]; d.sizeBytes != 512<<20 || d.Label != "disk1" || c.DiskInterface != "virtio-blk" {
		t.Fatalf("additional disk %+v on %q", d, c.DiskInterface)
	}
	c, _, err = prepare(t, isoConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.CDROMInterface != "virtio-scsi" || c.HTTPConfig.HTTPAddress != "127.0.0.1" || c.SourceImageURL != "https://mirror.example.org/debian/mini.iso" || c.SourceImageChecksum != testSHA256 {
		t.Fatalf("installer build: cdrom %q, http %q, source %q %q", c.CDROMInterface, c.HTTPConfig.HTTPAddress, c.SourceImageURL, c.SourceImageChecksum)
	}
}

// user_data_file's content becomes the user data, and both set is refused.
func TestConfigResolve_userDataFile(t *testing.T) {
	userData := filepath.Join(t.TempDir(), "user-data")
	os.WriteFile(userData, []byte("#cloud-config\npackages: [htop]\n"), 0o644)
	c, _, err := prepare(t, map[string]interface{}{"user_data_file": userData})
	if err != nil || c.UserData != "#cloud-config\npackages: [htop]\n" {
		t.Fatalf("user data %q, %v", c.UserData, err)
	}
	_, _, err = prepare(t, map[string]interface{}{"user_data_file": userData, "user_data": "#cloud-config\n"})
	if err == nil {
		t.Fatal("user_data and user_data_file both accepted")
	}
}

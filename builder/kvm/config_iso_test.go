package kvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// isoConfig is a minimal installer build: the overrides of minimalConfig
// that swap the cloud image for an ISO.
func isoConfig(t *testing.T) map[string]interface{} {
	t.Helper()
	return map[string]interface{}{
		"source_image_url":      nil,
		"source_image_checksum": nil,
		"iso_url":               "https://mirror.example.org/debian/mini.iso",
		"iso_checksum":          testSHA256,
		"disk_size":             "8G",
		"ssh_password":          "packer",
		"boot_command":          []string{"<esc>auto url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg<enter>"},
		"http_directory":        t.TempDir(),
	}
}

func with(base map[string]interface{}, overrides map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overrides {
		out[k] = v
	}
	return out
}

func TestConfigISO_anInstallerBuildIsValid(t *testing.T) {
	c, _, err := prepare(t, isoConfig(t))
	if err != nil {
		t.Fatalf("installer config refused: %v", err)
	}
	if !c.isISOBuild() {
		t.Fatal("not recognised as an installer build")
	}
	// Generated data and the artifact name the ISO as the build's source.
	if c.SourceImageURL != "https://mirror.example.org/debian/mini.iso" || c.SourceImageChecksum != testSHA256 {
		t.Fatalf("source is %q %q, want the ISO's URL and checksum", c.SourceImageURL, c.SourceImageChecksum)
	}
	if c.HTTPConfig.HTTPAddress != "127.0.0.1" {
		t.Fatalf("the HTTP server binds %q by default, want 127.0.0.1", c.HTTPConfig.HTTPAddress)
	}
	if c.CDROMInterface != "virtio-scsi" {
		t.Fatalf("cdrom_interface defaults to %q", c.CDROMInterface)
	}
	if c.diskSizeBytes != 8<<30 {
		t.Fatalf("disk size %d", c.diskSizeBytes)
	}
}

func TestConfigISO_boot_commandIsNotInterpolatedAtPrepare(t *testing.T) {
	c, _, err := prepare(t, isoConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.VNCConfig.FlatBootCommand(); !strings.Contains(got, "{{ .HTTPIP }}") {
		t.Fatalf("boot_command was rendered at Prepare (the HTTP port is unknown then): %q", got)
	}
}

func TestConfigISO_invalid(t *testing.T) {
	missingFile := filepath.Join(t.TempDir(), "absent.cfg")
	notADir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notADir, nil, 0o644)
	iso := isoConfig(t)
	cases := []struct {
		name    string
		raw     map[string]interface{}
		mention string
	}{
		{"both sources", with(iso, map[string]interface{}{"source_image_url": "debian.qcow2", "source_image_checksum": testSHA256}), "source_image_url and iso_url are both set"},
		{"neither source", with(iso, map[string]interface{}{"iso_url": nil, "iso_checksum": nil}), "source_image_url is required (or iso_url"},
		{"no iso checksum", with(iso, map[string]interface{}{"iso_checksum": nil}), "iso_checksum is required"},
		{"no disk size", with(iso, map[string]interface{}{"disk_size": nil}), "disk_size is required for an installer build"},
		{"missing http_directory", with(iso, map[string]interface{}{"http_directory": missingFile}), "http_directory"},
		{"http_directory is a file", with(iso, map[string]interface{}{"http_directory": notADir}), "http_directory"},
		{"missing cd_files", with(iso, map[string]interface{}{"cd_files": []string{missingFile}}), "cd_files"},
		{"no password or key", with(iso, map[string]interface{}{"ssh_password": nil}), "ssh_password or ssh_private_key_file is required"},
		{"user_data", with(iso, map[string]interface{}{"user_data": "#cloud-config\n"}), "user_data needs a cloud image"},
		{"overlay output", with(iso, map[string]interface{}{"output_mode": "overlay"}), "output_mode \"overlay\""},
		{"bad cdrom_interface", with(iso, map[string]interface{}{"cdrom_interface": "ide"}), "cdrom_interface \"ide\""},
		{"boot_command without vnc", with(iso, map[string]interface{}{"disable_vnc": true}), "vnc"},
		{"boot_command without an ISO", map[string]interface{}{"boot_command": []string{"<enter>"}}, "boot_command only applies to installer builds (iso_url)"},
		{"cd_files without an ISO", map[string]interface{}{"cd_content": map[string]string{"a": "b"}}, "cd_content only applies to installer builds"},
		{"floppy_dirs without an ISO", map[string]interface{}{"floppy_dirs": []string{t.TempDir()}}, "floppy_dirs only applies to installer builds"},
		{"boot_wait without an ISO", map[string]interface{}{"boot_wait": "10s"}, "boot_wait only applies to installer builds"},
		{"cd_label without an ISO", map[string]interface{}{"cd_label": "cidata"}, "cd_label only applies to installer builds"},
		{"cdrom_interface without an ISO", map[string]interface{}{"cdrom_interface": "sata"}, "cdrom_interface only applies to installer builds"},
		{"iso_checksum with a cloud image", map[string]interface{}{"iso_checksum": testSHA256}, "iso_checksum only applies to installer builds"},
		{"iso_checksum alone", map[string]interface{}{"source_image_url": nil, "source_image_checksum": nil, "iso_checksum": testSHA256}, "iso_checksum is set without iso_url"},
		{"floppy_label without an ISO", map[string]interface{}{"floppy_label": "OEMDRV"}, "floppy_label only applies to installer builds"},
		{"boot_key_interval without an ISO", map[string]interface{}{"boot_key_interval": "10ms"}, "boot_key_interval only applies to installer builds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := prepare(t, tc.raw)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("error does not mention %q:\n%v", tc.mention, err)
			}
		})
	}
}

func TestConfigISO_unknownValuesPassValidate(t *testing.T) {
	_, _, err := prepare(t, with(isoConfig(t), map[string]interface{}{"iso_url": validate.Unknown, "iso_checksum": validate.Unknown}))
	if err != nil {
		t.Fatalf("data-source placeholders refused at validate: %v", err)
	}
}

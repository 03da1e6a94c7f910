package kvm

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// An installer build starts from an ISO (iso_url/iso_urls) instead of a
// cloud image (source_image_url): a blank disk of disk_size, the ISO as a
// CD-ROM, a boot_command typed over VNC, files served over HTTP or put on a
// CD or floppy. The two ways are exclusive.

var validCDROMInterfaces = []string{"virtio-scsi", "sata"}

// isISOBuild is true when the build starts from an installer ISO.
func (c *Config) isISOBuild() bool {
	return c.ISOConfig.RawSingleISOUrl != "" || len(c.ISOConfig.ISOUrls) > 0
}

// applyInstallerDefaults settles whether the build starts from an installer
// ISO alone (with a source image too, validateStart refuses it) and, if so,
// the defaults of its options.
func (c *Config) applyInstallerDefaults() {
	c.installer = c.isISOBuild() && strings.TrimSpace(c.SourceImageURL) == ""
	if !c.installer {
		return
	}
	setDefault(&c.CDROMInterface, "virtio-scsi")
	if c.HTTPConfig.HTTPAddress == "" && c.HTTPConfig.HTTPInterface == "" {
		// The guest reaches the host's loopback through QEMU's user network
		// (10.0.2.2), so nothing needs to listen on other interfaces.
		c.HTTPConfig.HTTPAddress = "127.0.0.1"
	}
}

// resolveInstaller prepares an installer build's ISO, boot command, HTTP
// server, CD and floppy options with the SDK's own Prepare (which defaults
// and checks them), and shows the ISO as the build's source.
func (c *Config) resolveInstaller(warnings *[]string) []error {
	if !c.installer {
		return nil
	}
	var errs []error
	if sum := c.ISOConfig.ISOChecksum; sum != "" && !validate.IsUnknown(sum) && !validate.IsUnknown(c.ISOConfig.RawSingleISOUrl) {
		w, es := c.ISOConfig.Prepare(&c.ctx)
		*warnings = append(*warnings, w...)
		errs = append(errs, validate.PrefixErrors("iso_url/iso_checksum", es)...)
	}
	errs = append(errs, validate.PrefixErrors("boot_command", c.prepareBootCommand())...)
	errs = append(errs, validate.PrefixErrors("http", c.HTTPConfig.Prepare(&c.ctx))...)
	errs = append(errs, validate.PrefixErrors("cd_files", c.CDConfig.Prepare(&c.ctx))...)
	errs = append(errs, validate.PrefixErrors("floppy_files", c.FloppyConfig.Prepare(&c.ctx))...)

	// Shown as build.SourceImageURL/SourceImageChecksum and in the
	// artifact, as for a cloud image.
	if len(c.ISOConfig.ISOUrls) > 0 {
		c.SourceImageURL = c.ISOConfig.ISOUrls[0]
	} else {
		c.SourceImageURL = c.ISOConfig.RawSingleISOUrl
	}
	c.SourceImageChecksum = c.ISOConfig.ISOChecksum
	return errs
}

// validateStart checks that exactly one way to start is configured, then
// validates it: the cloud image (validateSource) or the installer ISO.
func (c *Config) validateStart(warnings *[]string) []error {
	// An installer build's SourceImageURL is its ISO's (resolveInstaller).
	hasImage := strings.TrimSpace(c.SourceImageURL) != "" && !c.installer
	switch {
	case hasImage && c.isISOBuild():
		return []error{errors.New("source_image_url and iso_url are both set: start from a cloud image (source_image_url) or from an installer ISO (iso_url/iso_urls), not both")}
	case !hasImage && !c.isISOBuild():
		errs := []error{errors.New("source_image_url is required (or iso_url for an installer build): a cloud image such as debian-12-genericcloud-amd64.qcow2, or an installer ISO with a boot_command")}
		if c.ISOConfig.ISOChecksum != "" {
			errs = append(errs, errors.New("iso_checksum is set without iso_url: it is the checksum of an installer ISO, give the ISO's iso_url (or, for a cloud image, source_image_checksum)"))
		}
		return errs
	case hasImage:
		return append(c.validateSource(warnings), c.rejectInstallerOptions()...)
	}
	return c.validateISO()
}

// rejectInstallerOptions names the installer options a cloud-image build
// would silently ignore.
func (c *Config) rejectInstallerOptions() []error {
	var errs []error
	options := []struct {
		name string
		set  bool
	}{
		{"iso_checksum", c.ISOConfig.ISOChecksum != ""},
		{"iso_target_path", c.ISOConfig.TargetPath != ""},
		{"iso_target_extension", c.ISOConfig.TargetExtension != ""},
		{"boot_command", len(c.VNCConfig.BootCommand) > 0},
		{"boot_wait", c.VNCConfig.BootWait != 0},
		{"boot_key_interval", c.VNCConfig.BootKeyInterval != 0},
		{"boot_keygroup_interval", c.VNCConfig.BootGroupInterval != 0},
		{"disable_vnc", c.VNCConfig.DisableVNC},
		{"cd_files", len(c.CDConfig.CDFiles) > 0},
		{"cd_content", len(c.CDConfig.CDContent) > 0},
		{"cd_label", c.CDConfig.CDLabel != ""},
		{"floppy_files", len(c.FloppyConfig.FloppyFiles) > 0},
		{"floppy_dirs", len(c.FloppyConfig.FloppyDirectories) > 0},
		{"floppy_content", len(c.FloppyConfig.FloppyContent) > 0},
		{"floppy_label", c.FloppyConfig.FloppyLabel != ""},
		{"cdrom_interface", c.CDROMInterface != ""},
	}
	for _, o := range options {
		if o.set {
			errs = append(errs, fmt.Errorf("%s only applies to installer builds (iso_url): a cloud image is configured by cloud-init, use user_data instead", o.name))
		}
	}
	return errs
}

// validateISO validates an installer build.
func (c *Config) validateISO() []error {
	var errs []error
	if c.ISOConfig.ISOChecksum == "" && !validate.IsUnknown(c.ISOConfig.RawSingleISOUrl) {
		errs = append(errs, errors.New(`iso_checksum is required with iso_url: "sha256:<hex>", "file:<checksum index URL>", or "none" to skip verification`))
	}
	if c.DiskSize == "" {
		errs = append(errs, errors.New("disk_size is required for an installer build (iso_url): the size of the blank disk the installer writes to, such as \"8G\""))
	}
	if c.OutputMode == "overlay" {
		errs = append(errs, errors.New("output_mode \"overlay\" needs a source image to reference: an installer build (iso_url) writes a standalone image"))
	}
	for name, set := range map[string]bool{"user_data": c.UserData != "", "user_data_file": c.UserDataFile != "", "network_config": c.NetworkConfig != ""} {
		if set {
			errs = append(errs, fmt.Errorf("%s needs a cloud image: an installer build (iso_url) has no cloud-init seed; configure the installed system in your preseed/kickstart/autoinstall file", name))
		}
	}
	if c.Comm.SSHPassword == "" && c.Comm.SSHPrivateKeyFile == "" && !c.Comm.SSHAgentAuth {
		errs = append(errs, errors.New("ssh_password or ssh_private_key_file is required for an installer build (iso_url): the builder cannot give the installed system its temporary key, so log in with the password or key your installer sets up"))
	}
	errs = appendIfErr(errs, validate.OneOf("cdrom_interface", c.CDROMInterface, validCDROMInterfaces))
	if dir := c.HTTPConfig.HTTPDir; dir != "" && !validate.IsUnknown(dir) {
		if info, err := os.Stat(dir); err != nil {
			errs = append(errs, fmt.Errorf("http_directory: %w", err))
		} else if !info.IsDir() {
			errs = append(errs, fmt.Errorf("http_directory %q is not a directory", dir))
		}
	}
	return errs
}

package kvm

import (
	"fmt"
	"os"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/disksize"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// resolve derives the values the build uses from what the template says,
// after applyDefaults and before validation, which only reads the config:
// the disk sizes in bytes, the watch timeouts, user_data read from
// user_data_file (unless both are set, which validation refuses), and an
// installer build's options as the SDK prepares them. Its errors are those
// of reading and parsing. A data source's value not known yet (packer
// validate) is left for packer build to resolve.
func (c *Config) resolve(warnings *[]string) []error {
	var errs []error
	if c.DiskSize != "" && !validate.IsUnknown(c.DiskSize) {
		size, err := disksize.Parse(c.DiskSize)
		if err != nil {
			errs = append(errs, fmt.Errorf("disk_size: %w", err))
		}
		c.diskSizeBytes = size
	}
	if c.UserDataFile != "" && c.UserData == "" && !validate.IsUnknown(c.UserDataFile) {
		data, err := os.ReadFile(c.UserDataFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("user_data_file: %w", err))
		} else {
			c.UserData, c.userDataFromFile = string(data), true
		}
	}
	errs = append(errs, c.resolveAdditionalDiskSizes()...)
	errs = append(errs, c.resolveInstaller(warnings)...) // config_iso.go
	errs = append(errs, c.resolveCloudHTTP()...)         // config_network.go
	return append(errs, c.resolveWatchTimeouts()...)
}

// resolveAdditionalDiskSizes reads each additional disk's size in bytes;
// validateAdditionalDisks refuses a missing one.
func (c *Config) resolveAdditionalDiskSizes() []error {
	var errs []error
	for i := range c.AdditionalDisks {
		d := &c.AdditionalDisks[i]
		if validate.IsUnknown(d.Size) || strings.TrimSpace(d.Size) == "" {
			continue
		}
		size, err := disksize.Parse(d.Size)
		if err != nil {
			errs = append(errs, fmt.Errorf("additional_disks[%d]: size: %w", i, err))
		}
		d.sizeBytes = size
	}
	return errs
}

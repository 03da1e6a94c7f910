package kvm

import (
	"fmt"
	"os"

	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// resolve derives the values the build uses from what the template says,
// after applyDefaults and before validation, which only reads the config:
// the disk size in bytes, the watch timeouts, and user_data read from
// user_data_file (unless both are set, which validation refuses). Its
// errors are those of reading and parsing. A data source's value not
// known yet (packer validate) is left for packer build to resolve.
func (c *Config) resolve() []error {
	var errs []error
	if c.DiskSize != "" && !validate.IsUnknown(c.DiskSize) {
		size, err := parseSize(c.DiskSize)
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
	return append(errs, c.resolveWatchTimeouts()...)
}

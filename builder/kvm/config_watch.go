package kvm

import (
	"fmt"
	"strings"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// Defaults of the timeouts that keep a stuck download or boot from
// hanging the build.
const (
	defaultDownloadStallTimeout = 2 * time.Minute
	defaultBootProgressTimeout  = 3 * time.Minute
)

// resolveWatchTimeouts parses the timeouts that are disabled with "0",
// which a time.Duration field cannot tell from unset.
func (c *Config) resolveWatchTimeouts() []error {
	var errs []error
	var err error
	if c.downloadStallTimeout, err = optionalTimeout("download_stall_timeout", c.DownloadStallTimeout, defaultDownloadStallTimeout); err != nil {
		errs = append(errs, err)
	}
	if c.bootProgressTimeout, err = optionalTimeout("boot_progress_timeout", c.BootProgressTimeout, defaultBootProgressTimeout); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// optionalTimeout reads a duration that defaults when unset and is
// disabled by "0".
func optionalTimeout(field, value string, def time.Duration) (time.Duration, error) {
	value = strings.TrimSpace(value)
	if value == "" || validate.IsUnknown(value) {
		// Unset, or a data source's value not known yet (packer validate).
		return def, nil
	}
	if value == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration: write it like \"%s\", or \"0\" to disable it", field, value, def)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s %q is negative: give a positive duration such as \"%s\", or \"0\" to disable it", field, value, def)
	}
	return d, nil
}

package vmwatch

import (
	"context"
	"fmt"
	"os"
	"time"
)

// BootProgress tells a booting guest from a stuck one by its serial
// console: boot loaders, kernels and systemd all print there, so a console
// that stays silent for minutes belongs to a guest that is getting nowhere.
// An installer may print nothing there (Debian's and Ubuntu's do not), so
// for installer builds an Activity also counts what a person watching
// would see: the screen changing, the disks being read or written.
type BootProgress struct {
	serial     SerialLog
	size       int64
	lastChange time.Time
	// activity samples the VM every activityEvery; nil watches the serial
	// console only.
	activity      *Activity
	activityEvery time.Duration
	lastSample    time.Time
}

// NewBootProgress watches the serial log from now on, and with a non-nil
// activity also samples the VM every activityEvery.
func NewBootProgress(serial SerialLog, activity *Activity, activityEvery time.Duration) *BootProgress {
	return &BootProgress{serial: serial, lastChange: time.Now(), activity: activity, activityEvery: activityEvery}
}

// Check returns the error that ends the build once nothing has moved for
// timeout, or nil; a timeout of 0 or less disables it.
func (p *BootProgress) Check(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 || p.serial.Path == "" {
		return nil
	}
	if fi, err := os.Stat(p.serial.Path); err == nil && fi.Size() != p.size {
		p.size, p.lastChange = fi.Size(), time.Now()
		return nil
	}
	if p.activity != nil && time.Since(p.lastSample) >= p.activityEvery {
		p.lastSample = time.Now()
		if p.activity.changed(ctx) {
			p.lastChange = time.Now()
			return nil
		}
	}
	if time.Since(p.lastChange) < timeout {
		return nil
	}
	if p.activity != nil {
		return fmt.Errorf("%s for %s (boot_progress_timeout): the installer is stuck; is it waiting for input (watch its console with vnc = true; check boot_command and boot_wait)? Raise boot_progress_timeout for a slower install, or set it to \"0\" to wait for ssh_timeout only%s",
			p.activity.describeIdle(p.size == 0), timeout, p.serial.Tail(30))
	}
	what := fmt.Sprintf("the guest's serial console has been silent for %s", timeout)
	if p.size == 0 {
		what = fmt.Sprintf("the guest printed nothing on its serial console in %s", timeout)
	}
	return fmt.Errorf("%s (boot_progress_timeout): it is not booting; is the source image bootable and complete, with a console on ttyS0? Raise boot_progress_timeout for a slow boot, or set it to \"0\" to wait for ssh_timeout only%s",
		what, p.serial.Tail(30))
}

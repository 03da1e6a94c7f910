package warmstart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// ResumeTarget is the fresh build an entry is resumed into.
type ResumeTarget struct {
	// Driver rebases the copied disk layer.
	Driver qemu.Driver
	// Overlay is the build's disk: it becomes a copy of the entry's layer.
	Overlay string
	// Source and SourceFormat are the build's source image, which the
	// copied layer is rebased onto.
	Source       string
	SourceFormat string
	// EFIVars is the build's UEFI variables file, overwritten by the
	// entry's ("" for BIOS).
	EFIVars string
}

// PrepareResume puts the entry's disk layer and UEFI variables in place of
// the fresh build's, and returns the private key the saved guest
// authorized. The entry itself is only read.
func (e *Entry) PrepareResume(ctx context.Context, t ResumeTarget) ([]byte, error) {
	if _, err := fileutil.CopyAndSHA256(e.File(DiskFile), t.Overlay, 0o644); err != nil {
		return nil, fmt.Errorf("copying the disk layer: %w", err)
	}
	source, err := filepath.Abs(t.Source)
	if err != nil {
		return nil, err
	}
	if err := t.Driver.Rebase(ctx, t.Overlay, source, t.SourceFormat); err != nil {
		return nil, fmt.Errorf("pointing the disk layer at the source image: %w", err)
	}
	if t.EFIVars != "" {
		if _, ok := e.Manifest.Files[VarsFile]; !ok {
			return nil, fmt.Errorf("the entry has no UEFI variables")
		}
		if _, err := fileutil.CopyAndSHA256(e.File(VarsFile), t.EFIVars, 0o600); err != nil {
			return nil, fmt.Errorf("copying the UEFI variables: %w", err)
		}
	}
	return os.ReadFile(e.File(KeyFile))
}

// IncomingArgs tell QEMU to load the entry's saved state instead of
// booting.
func (e *Entry) IncomingArgs() []string {
	return []string{"-incoming", "exec:cat " + shellQuote(e.File(StateFile))}
}

// VMGenIDArgs add a VM generation ID device with a GUID QEMU draws at
// every start, so a resumed guest sees a new generation and its kernel
// (Linux 5.18 and later) reseeds its random number generator. A cold
// warm-start build gets it too, so both layouts match.
func VMGenIDArgs() []string {
	return []string{"-device", "vmgenid,id=vmgenid0,guid=auto"}
}

// Continue waits, up to timeout and polling every interval, for QEMU to
// load the entry's saved state into vm, and continues the guest: it was
// paused when it was saved and the migration carries that run state, so
// QEMU does not start it. continued says it did, took how long the load
// took; a guest already running is left alone.
func (e *Entry) Continue(ctx context.Context, vm qemu.VM, timeout, interval time.Duration) (took time.Duration, continued bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	for {
		status, err := vm.Status(ctx)
		if err != nil {
			return 0, false, fmt.Errorf("loading the VM saved in %s: %w", e.Name(), err)
		}
		switch status {
		case "inmigrate":
		case "running":
			return 0, false, nil
		default:
			if err := checkLoaded(ctx, vm); err != nil {
				return 0, false, fmt.Errorf("loading the VM saved in %s: %w", e.Name(), err)
			}
			if _, err := vm.Command(ctx, "cont", nil); err != nil {
				return 0, false, fmt.Errorf("continuing the resumed VM (status %q): %w", status, err)
			}
			return time.Since(start), true, nil
		}
		select {
		case <-ctx.Done():
			return 0, false, fmt.Errorf("the VM saved in %s did not load within %s", e.Name(), timeout)
		case <-time.After(interval):
		}
	}
}

// checkLoaded asks QEMU whether the incoming migration completed.
func checkLoaded(ctx context.Context, vm qemu.VM) error {
	info, err := queryMigrate(ctx, vm)
	if err != nil {
		return err
	}
	if info.Status != "completed" {
		return fmt.Errorf("the incoming migration is %q: %s", info.Status, info.ErrorDesc)
	}
	return nil
}

// SetClockCommand sets the guest's system clock to t (UTC), as root: a
// resumed guest's clock stood still while the VM was saved.
func SetClockCommand(user string, t time.Time) string {
	cmd := fmt.Sprintf("date -u -s @%d.%09d >/dev/null", t.Unix(), t.Nanosecond())
	if user != "root" {
		cmd = "sudo -n " + cmd
	}
	return cmd
}

// shellQuote quotes s as one word for a POSIX shell (QEMU's exec:
// migration runs its command through one).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

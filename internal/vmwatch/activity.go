package vmwatch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/fileutil"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// Activity samples what a person watching an installer would see move,
// over QMP: the screen (a screendump, hashed; a return to a recent picture,
// as a blinking cursor makes, does not count) and the disks (the bytes and
// operations of query-blockstats, the installer ISO's reads included).
type Activity struct {
	vm qemu.VM
	// screenFile is where QEMU writes the screendump; "" skips the screen.
	screenFile string

	disks   string
	screens []string // hashes of the recent screendumps, oldest first
	// sawScreen and sawDisks: a sample of each has been taken (a VM
	// without a display has no screen to dump).
	sawScreen, sawDisks bool
}

// NewActivity samples vm; QEMU writes the screendumps to screenFile (""
// skips the screen), which Cleanup removes.
func NewActivity(vm qemu.VM, screenFile string) *Activity {
	return &Activity{vm: vm, screenFile: screenFile}
}

// activityQMPTimeout bounds one sample's QMP commands.
const activityQMPTimeout = 5 * time.Second

// changed samples the VM and tells whether anything moved since the last
// sample. The first sample only sets the baseline.
func (a *Activity) changed(ctx context.Context) bool {
	if a.vm == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, activityQMPTimeout)
	defer cancel()
	moved := false
	if disks, err := a.sampleDisks(ctx); err == nil {
		moved = a.sawDisks && disks != a.disks
		a.disks, a.sawDisks = disks, true
	}
	if screen, err := a.sampleScreen(ctx); err == nil {
		moved = moved || a.sawScreen && !slices.Contains(a.screens, screen)
		a.sawScreen = true
		if !slices.Contains(a.screens, screen) {
			a.screens = append(a.screens, screen)
			if len(a.screens) > recentScreens {
				a.screens = a.screens[1:]
			}
		}
	}
	return moved
}

// recentScreens is how many recent pictures of the screen are remembered:
// a screen that only goes back to one of them (a blinking cursor, a
// spinner) shows no progress.
const recentScreens = 8

// sampleDisks sums the bytes and operations of every block device: any
// read or write changes it (the timing fields, which change on their own,
// are left out).
func (a *Activity) sampleDisks(ctx context.Context) (string, error) {
	raw, err := a.vm.Command(ctx, "query-blockstats", nil)
	if err != nil {
		return "", err
	}
	var devices []struct {
		Device   string `json:"device"`
		NodeName string `json:"node-name"`
		Stats    struct {
			RdBytes int64 `json:"rd_bytes"`
			WrBytes int64 `json:"wr_bytes"`
			RdOps   int64 `json:"rd_operations"`
			WrOps   int64 `json:"wr_operations"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(raw, &devices); err != nil {
		return "", fmt.Errorf("query-blockstats: %w", err)
	}
	var b strings.Builder
	for _, d := range devices {
		fmt.Fprintf(&b, "%s/%s:%d,%d,%d,%d;", d.Device, d.NodeName, d.Stats.RdBytes, d.Stats.WrBytes, d.Stats.RdOps, d.Stats.WrOps)
	}
	return b.String(), nil
}

// sampleScreen hashes a screendump of the VM's display.
func (a *Activity) sampleScreen(ctx context.Context) (string, error) {
	if a.screenFile == "" {
		return "", fmt.Errorf("no place for a screendump")
	}
	if _, err := a.vm.Command(ctx, "screendump", map[string]interface{}{"filename": a.screenFile}); err != nil {
		return "", err
	}
	sum, _, err := fileutil.SHA256(a.screenFile)
	return sum, err
}

// Cleanup removes the last screendump.
func (a *Activity) Cleanup() {
	if a.screenFile != "" {
		os.Remove(a.screenFile)
	}
}

// describeIdle says what stayed still, for the error message.
func (a *Activity) describeIdle(serialEmpty bool) string {
	parts := []string{"the guest printed nothing on its serial console"}
	if !serialEmpty {
		parts[0] = "the guest's serial console stayed silent"
	}
	if a.sawScreen {
		parts = append(parts, "its screen did not change")
	}
	if a.sawDisks {
		parts = append(parts, "it neither read nor wrote its disks")
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

package vmwatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

// diskStats is a query-blockstats reply for one disk, with a timing field
// that changes on its own.
func diskStats(written, idleNs int64) string {
	return fmt.Sprintf(`[{"device":"","node-name":"disk0","stats":{"rd_bytes":4096,"wr_bytes":%d,"rd_operations":1,"wr_operations":%d,"idle_time_ns":%d}}]`, written, written/512, idleNs)
}

func TestActivity_theFirstSampleIsOnlyTheBaseline(t *testing.T) {
	vm := qemumock.NewVMMock()
	vm.SetCommandReply("query-blockstats", diskStats(0, 1))
	vm.SetScreen([]byte("P6 boot"))
	a := NewActivity(vm, filepath.Join(t.TempDir(), "screen.ppm"))
	if a.changed(context.Background()) {
		t.Fatal("the first sample counted as a change")
	}
}

// Only bytes and operations count: the idle time moves by itself.
func TestActivity_diskWritesCountTheIdleTimeDoesNot(t *testing.T) {
	vm := qemumock.NewVMMock()
	vm.SetCommandReply("query-blockstats", diskStats(0, 1))
	a := NewActivity(vm, "")
	a.changed(context.Background())
	vm.SetCommandReply("query-blockstats", diskStats(0, 2))
	if a.changed(context.Background()) {
		t.Fatal("a moving idle time counted as disk activity")
	}
	vm.SetCommandReply("query-blockstats", diskStats(65536, 3))
	if !a.changed(context.Background()) {
		t.Fatal("a disk write did not count")
	}
}

// A blinking cursor goes back to a recent picture: no progress. A new
// picture is.
func TestActivity_aBlinkingCursorIsNotANewScreen(t *testing.T) {
	vm := qemumock.NewVMMock()
	vm.SetCommandReply("query-blockstats", diskStats(0, 1))
	screen := filepath.Join(t.TempDir(), "screen.ppm")
	a := NewActivity(vm, screen)
	// The first two samples see both pictures of the cursor.
	for i := 0; i < 6; i++ {
		vm.SetScreen([]byte(fmt.Sprintf("P6 menu, cursor %v", i%2 == 0)))
		if changed := a.changed(context.Background()); changed && i >= 2 {
			t.Fatalf("sample %d: the blinking cursor counted as a change", i)
		}
	}
	vm.SetScreen([]byte("P6 installing 10%"))
	if !a.changed(context.Background()) {
		t.Fatal("a new screen did not count")
	}
	a.Cleanup()
	if _, err := os.Stat(screen); !os.IsNotExist(err) {
		t.Fatalf("the screendump was left behind: %v", err)
	}
}

func TestActivity_describeIdleNamesWhatWasWatched(t *testing.T) {
	vm := qemumock.NewVMMock()
	vm.SetCommandReply("query-blockstats", diskStats(0, 1))
	vm.SetScreen([]byte("P6 menu"))
	a := NewActivity(vm, filepath.Join(t.TempDir(), "screen.ppm"))
	a.changed(context.Background())
	got := a.describeIdle(true)
	want := "the guest printed nothing on its serial console, its screen did not change and it neither read nor wrote its disks"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := NewActivity(nil, "").describeIdle(false); !strings.HasPrefix(got, "the guest's serial console stayed silent") {
		t.Fatalf("without samples: %q", got)
	}
}

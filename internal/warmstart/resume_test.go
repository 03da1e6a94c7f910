package warmstart

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

func TestPrepareResume_copiesAndRebasesTheLayerAndReturnsTheKey(t *testing.T) {
	cache := Cache{Root: t.TempDir()}
	in := testInputs()
	writeTestEntry(t, cache, in, map[string]string{StateFile: "state", DiskFile: "saved layer", KeyFile: "OLD KEY"})
	e, err := cache.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	overlay := filepath.Join(work, "disk.qcow2")
	os.WriteFile(overlay, []byte("fresh"), 0o644)
	driver := &qemumock.DriverMock{}
	key, err := e.PrepareResume(context.Background(), ResumeTarget{Driver: driver, Overlay: overlay, Source: filepath.Join(work, "src.qcow2"), SourceFormat: "qcow2"})
	if err != nil || string(key) != "OLD KEY" {
		t.Fatalf("key %q, %v", key, err)
	}
	if got, _ := os.ReadFile(overlay); string(got) != "saved layer" {
		t.Fatalf("the build's disk holds %q", got)
	}
	if want := [][]string{{overlay, filepath.Join(work, "src.qcow2"), "qcow2"}}; !reflect.DeepEqual(driver.RebaseCalls, want) {
		t.Fatalf("rebase calls %v", driver.RebaseCalls)
	}
	vars := filepath.Join(work, "efivars.fd")
	if _, err := e.PrepareResume(context.Background(), ResumeTarget{Driver: driver, Overlay: overlay, Source: "src", EFIVars: vars}); err == nil || !strings.Contains(err.Error(), "no UEFI variables") {
		t.Fatalf("a UEFI build resumed from an entry without variables: %v", err)
	}
	if args := e.IncomingArgs(); !reflect.DeepEqual(args, []string{"-incoming", "exec:cat '" + e.File(StateFile) + "'"}) {
		t.Fatalf("incoming args %v", args)
	}
}

func TestContinue_reportsTheLoadOfAPausedGuestOnly(t *testing.T) {
	e := &Entry{Dir: "/c/0123456789abcdef"}
	vm := qemumock.NewVMMock()
	vm.StatusText = "running"
	if _, continued, err := e.Continue(context.Background(), vm, time.Second, time.Millisecond); err != nil || continued {
		t.Fatalf("a running guest: continued %v, %v", continued, err)
	}
	vm.StatusText = "inmigrate"
	if _, _, err := e.Continue(context.Background(), vm, 20*time.Millisecond, time.Millisecond); err == nil || !strings.Contains(err.Error(), "0123456789ab did not load within") {
		t.Fatalf("a load that never ends: %v", err)
	}
}

func TestSetClockCommand_usesSudoForOtherUsers(t *testing.T) {
	now := time.Unix(1700000000, 5)
	if got := SetClockCommand("root", now); got != "date -u -s @1700000000.000000005 >/dev/null" {
		t.Errorf("root: %q", got)
	}
	if got := SetClockCommand("packer", now); !strings.HasPrefix(got, "sudo -n date") {
		t.Errorf("packer: %q", got)
	}
}

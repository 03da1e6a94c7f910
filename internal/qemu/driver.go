// Package qemu is the plugin's QEMU layer: the guest architectures and
// their firmware, the VM's devices and command line (Spec, Media, Args),
// the choice of accelerator and the verdicts remembered about it, the KVM
// probe, and the driver that runs qemu-img and QEMU with its QMP monitor
// (Driver, VM). It knows nothing of Packer's steps: the builder hands it
// plain values.
package qemu

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// Driver is the builder's only way to touch QEMU, so that every step can be
// unit-tested against qemumock.DriverMock.
type Driver interface {
	// ImageInfo describes a disk image as `qemu-img info` sees it, read
	// as format ("" lets qemu-img probe it). Steps check images through
	// qemuimg.SelfContained (Inspector).
	ImageInfo(ctx context.Context, path, format string) (*ImageInfo, error)
	// CheckImage runs `qemu-img check` on an image of a format that has
	// metadata to check (qcow2, vmdk, vdi, vhdx, ...) and returns why it is
	// damaged, or nil. Formats without a check pass.
	CheckImage(ctx context.Context, path, format string) error
	// CreateOverlay creates a qcow2 image at path backed by backing (of
	// format backingFormat) with the given virtual size (0 keeps the
	// backing image's size).
	CreateOverlay(ctx context.Context, backing, backingFormat, path string, size int64) error
	// CreateDisk creates a blank qcow2 image of size bytes at path: the
	// disk an installer build installs to.
	CreateDisk(ctx context.Context, path string, size int64) error
	// Convert flattens src into a standalone image of format at dst.
	Convert(ctx context.Context, src, dst, format, compression string) error
	// ProbeKVM returns nil when KVM can run a small guest within timeout,
	// or the reason it cannot.
	ProbeKVM(ctx context.Context, machine, cpuModel string, timeout time.Duration) error
	// Start launches QEMU with args; the VM answers QMP on qmpSocket.
	Start(args []string, qmpSocket string) (VM, error)
	// Rebase points the qcow2 image at path to a new backing file without
	// touching its data (`qemu-img rebase -u`), for a disk layer copied
	// from the warm-start cache.
	Rebase(ctx context.Context, path, backing, backingFormat string) error
	// QemuVersion is `qemu-system-* --version`'s first line.
	QemuVersion(ctx context.Context) (string, error)
}

// VM is a running QEMU process with its QMP monitor.
type VM interface {
	// Exited is closed when the QEMU process has ended.
	Exited() <-chan struct{}
	// ExitError is why QEMU ended (nil for a clean exit); valid after Exited.
	ExitError() error
	// Status is the QMP run state: "running", "paused", "internal-error",
	// "guest-panicked", "shutdown", ...
	Status(ctx context.Context) (string, error)
	// PowerDown asks the guest to shut down through ACPI.
	PowerDown(ctx context.Context) error
	// Stop ends QEMU at once: a QMP quit, then a kill if it does not exit.
	Stop() error
	// Events delivers QEMU's asynchronous QMP events (STOP, SHUTDOWN,
	// BLOCK_IO_ERROR, ...) to a single reader. Events that arrive while
	// the reader is busy may be dropped, so a reader also polls Status.
	// The channel is closed when the monitor connection ends.
	Events() <-chan VMEvent
	// Command runs a QMP command with arguments (nil for none) and returns
	// its "return" value.
	Command(ctx context.Context, name string, args interface{}) (json.RawMessage, error)
}

// VMEvent is one QMP event: its name and its data object.
type VMEvent struct {
	Name string
	Data map[string]interface{}
}

// ImageInfo is the part of `qemu-img info --output=json` the plugin uses.
type ImageInfo = qemuimg.Info

// Inspector lets qemuimg.SelfContained read images through a Driver.
type Inspector struct{ Driver }

// InfoAs implements qemuimg.Inspector.
func (d Inspector) InfoAs(ctx context.Context, path, format string) (*qemuimg.Info, error) {
	return d.ImageInfo(ctx, path, format)
}

package kvm

import (
	"context"
	"time"
)

// Driver is the builder's only way to touch QEMU, so that every step can be
// unit-tested against DriverMock.
type Driver interface {
	// ImageInfo describes a disk image as `qemu-img info` sees it.
	ImageInfo(ctx context.Context, path string) (*ImageInfo, error)
	// CreateOverlay creates a qcow2 image at path backed by backing (of
	// format backingFormat) with the given virtual size (0 keeps the
	// backing image's size).
	CreateOverlay(ctx context.Context, backing, backingFormat, path string, size int64) error
	// Convert flattens src into a standalone image of format at dst.
	Convert(ctx context.Context, src, dst, format, compression string) error
	// ProbeKVM returns nil when KVM can run a small guest within timeout,
	// or the reason it cannot.
	ProbeKVM(ctx context.Context, machine, cpuModel string, timeout time.Duration) error
	// Start launches QEMU with args; the VM answers QMP on qmpSocket.
	Start(args []string, qmpSocket string) (VM, error)
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
}

// ImageInfo is the part of `qemu-img info --output=json` the builder uses.
type ImageInfo struct {
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	BackingFile string `json:"backing-filename"`
}

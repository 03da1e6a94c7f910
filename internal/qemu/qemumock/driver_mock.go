// Package qemumock is a stand-in for QEMU (qemu.Driver and qemu.VM) that
// records what steps do and answers what tests tell it, so that steps are
// unit-tested without QEMU. Only tests import it.
package qemumock

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// Compile-time checks: the mocks stand in for the real driver and VM.
var (
	_ qemu.Driver = (*DriverMock)(nil)
	_ qemu.VM     = (*VMMock)(nil)
)

// DriverMock records the calls steps make and returns canned answers, so
// steps are unit-tested without QEMU.
type DriverMock struct {
	mu sync.Mutex

	ImageInfoResult *qemu.ImageInfo
	ImageInfoErr    error
	ImageInfoCalls  [][]string // path, format

	CheckImageCalls []string // path
	CheckImageErr   error

	CreateOverlayCalls [][]interface{} // backing, format, path, size
	CreateOverlayErr   error

	CreateDiskCalls [][]interface{} // path, size
	CreateDiskErr   error

	ConvertCalls [][]string // src, dst, format, compression
	ConvertErr   error
	// ConvertContent is written to dst by Convert, as qemu-img would.
	ConvertContent []byte

	ProbeKVMErr   error
	ProbeKVMCalls int

	StartArgs []string
	StartErr  error
	VM        *VMMock

	RebaseCalls     [][]string // path, backing, format
	QemuVersionText string
}

// ImageInfo records the call and returns ImageInfoResult and ImageInfoErr.
func (d *DriverMock) ImageInfo(ctx context.Context, path, format string) (*qemu.ImageInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ImageInfoCalls = append(d.ImageInfoCalls, []string{path, format})
	return d.ImageInfoResult, d.ImageInfoErr
}

// CheckImage records the call and returns CheckImageErr.
func (d *DriverMock) CheckImage(ctx context.Context, path, format string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.CheckImageCalls = append(d.CheckImageCalls, path)
	return d.CheckImageErr
}

// CreateOverlay records the call and writes a stand-in overlay at path.
func (d *DriverMock) CreateOverlay(ctx context.Context, backing, format, path string, size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.CreateOverlayCalls = append(d.CreateOverlayCalls, []interface{}{backing, format, path, size})
	if d.CreateOverlayErr != nil {
		return d.CreateOverlayErr
	}
	return os.WriteFile(path, []byte("overlay"), 0o644)
}

// CreateDisk records the call and writes a stand-in disk at path.
func (d *DriverMock) CreateDisk(ctx context.Context, path string, size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.CreateDiskCalls = append(d.CreateDiskCalls, []interface{}{path, size})
	if d.CreateDiskErr != nil {
		return d.CreateDiskErr
	}
	return os.WriteFile(path, []byte("blank"), 0o644)
}

// Convert records the call and writes ConvertContent to dst.
func (d *DriverMock) Convert(ctx context.Context, src, dst, format, compression string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ConvertCalls = append(d.ConvertCalls, []string{src, dst, format, compression})
	if d.ConvertErr != nil {
		// Like qemu-img, a failed convert may leave a partial file.
		_ = os.WriteFile(dst, []byte("partial"), 0o644)
		return d.ConvertErr
	}
	return os.WriteFile(dst, d.ConvertContent, 0o644)
}

// ProbeKVM counts the call and returns ProbeKVMErr.
func (d *DriverMock) ProbeKVM(ctx context.Context, machine, cpu string, timeout time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ProbeKVMCalls++
	return d.ProbeKVMErr
}

// Start records args and returns VM (a new VMMock when nil) or StartErr.
func (d *DriverMock) Start(args []string, qmpSocket string) (qemu.VM, error) {
	d.StartArgs = args
	if d.StartErr != nil {
		return nil, d.StartErr
	}
	if d.VM == nil {
		d.VM = NewVMMock()
	}
	return d.VM, nil
}

// VMMock is a qemu.VM whose status and exit the test controls.
type VMMock struct {
	mu         sync.Mutex
	exited     chan struct{}
	events     chan qemu.VMEvent
	StatusText string
	ExitErr    error
	// PowerDownExits makes PowerDown end the VM, as a guest that obeys.
	PowerDownExits bool
	PowerDownCalls int
	StopCalls      int
	// CommandCalls are the QMP commands run; CommandReplies answer them
	// by name, CommandErrs fail them.
	CommandCalls   []string
	CommandArgs    []interface{} // the arguments of CommandCalls
	CommandReplies map[string]string
	CommandErrs    map[string]error
	// Screen is what a screendump writes (nil: the VM has no display).
	Screen []byte
}

// SetCommandReply changes the answer to a QMP command while the VM runs.
func (v *VMMock) SetCommandReply(name, reply string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.CommandReplies == nil {
		v.CommandReplies = map[string]string{}
	}
	v.CommandReplies[name] = reply
}

// SetScreen changes what the VM's display shows.
func (v *VMMock) SetScreen(screen []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.Screen = screen
}

// NewVMMock is a running VM whose status is "running".
func NewVMMock() *VMMock {
	return &VMMock{exited: make(chan struct{}), events: make(chan qemu.VMEvent, 16), StatusText: "running"}
}

// Exited implements qemu.VM.
func (v *VMMock) Exited() <-chan struct{} { return v.exited }

// Events implements qemu.VM.
func (v *VMMock) Events() <-chan qemu.VMEvent { return v.events }

// Emit delivers a QMP event, as QEMU would while it runs.
func (v *VMMock) Emit(name string, data map[string]interface{}) {
	v.mu.Lock()
	defer v.mu.Unlock()
	select {
	case <-v.exited:
	default:
		v.events <- qemu.VMEvent{Name: name, Data: data}
	}
}

// ExitError is ExitErr.
func (v *VMMock) ExitError() error { return v.ExitErr }

// Status is StatusText while the VM runs.
func (v *VMMock) Status(ctx context.Context) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	select {
	case <-v.exited:
		return "", errors.New("not running")
	default:
		return v.StatusText, nil
	}
}

// SetStatus changes the run state Status reports.
func (v *VMMock) SetStatus(s string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.StatusText = s
}

// PowerDown counts the call; with PowerDownExits the VM ends.
func (v *VMMock) PowerDown(ctx context.Context) error {
	v.mu.Lock()
	v.PowerDownCalls++
	exits := v.PowerDownExits
	v.mu.Unlock()
	if exits {
		v.Exit(nil)
	}
	return nil
}

// Stop counts the call and ends the VM.
func (v *VMMock) Stop() error {
	v.mu.Lock()
	v.StopCalls++
	v.mu.Unlock()
	v.Exit(nil)
	return nil
}

// Exit ends the mock VM once.
func (v *VMMock) Exit(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	select {
	case <-v.exited:
	default:
		v.ExitErr = err
		close(v.exited)
		// The monitor connection ends with QEMU.
		close(v.events)
	}
}

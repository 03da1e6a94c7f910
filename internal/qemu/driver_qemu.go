package qemu

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-qemu/qmp"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// Compile-time checks: a changed signature fails the build here.
var (
	_ Driver = (*QemuDriver)(nil)
	_ VM     = (*qemuVM)(nil)
)

// QemuDriver runs the real qemu-system and qemu-img binaries.
type QemuDriver struct {
	QemuBinary    string
	QemuImgBinary string
	// QMPTimeout bounds a QMP command whose context has no earlier
	// deadline (DefaultQMPTimeout if 0).
	QMPTimeout time.Duration
	// StopGrace is how long a VM's Stop waits for QEMU to quit before
	// killing it (DefaultStopGrace if 0).
	StopGrace time.Duration
}

// The defaults of QemuDriver's QMPTimeout and StopGrace.
const (
	DefaultQMPTimeout = 10 * time.Second
	DefaultStopGrace  = 5 * time.Second
)

// NewQemuDriver checks that both binaries exist, naming the Debian/Ubuntu
// package to install when one is missing.
func NewQemuDriver(qemuBinary, qemuImgBinary string) (*QemuDriver, error) {
	var errs []string
	for bin, pkg := range map[string]string{qemuBinary: "qemu-system-x86 (or qemu-system for other architectures)", qemuImgBinary: "qemu-utils"} {
		if _, err := exec.LookPath(bin); err != nil {
			errs = append(errs, fmt.Sprintf("%s was not found in PATH: install the %s package (apt-get install %s), or set its path in the template", bin, pkg, strings.Fields(pkg)[0]))
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return &QemuDriver{QemuBinary: qemuBinary, QemuImgBinary: qemuImgBinary}, nil
}

// qemuImg is the shared qemu-img layer for QemuImgBinary.
func (d *QemuDriver) qemuImg() *qemuimg.Runner { return qemuimg.New(d.QemuImgBinary) }

// ImageInfo implements Driver.
func (d *QemuDriver) ImageInfo(ctx context.Context, path, format string) (*ImageInfo, error) {
	return d.qemuImg().InfoAs(ctx, path, format)
}

// CheckImage implements Driver.
func (d *QemuDriver) CheckImage(ctx context.Context, path, format string) error {
	return d.qemuImg().Check(ctx, path, format)
}

// CreateOverlay implements Driver.
func (d *QemuDriver) CreateOverlay(ctx context.Context, backing, backingFormat, path string, size int64) error {
	return d.qemuImg().CreateOverlay(ctx, backing, backingFormat, path, size)
}

// CreateDisk implements Driver.
func (d *QemuDriver) CreateDisk(ctx context.Context, path string, size int64) error {
	return d.qemuImg().CreateBlank(ctx, path, size)
}

// Convert implements Driver.
func (d *QemuDriver) Convert(ctx context.Context, src, dst, format, compression string) error {
	return d.qemuImg().Convert(ctx, src, dst, qemuimg.OutputOptions(format, compression), nil)
}

// ProbeKVM boots a tiny guest under KVM that prints once it has done what
// a boot loader and kernel do (driver_qemu_probe.go). A usable KVM gets
// there in about a second; a broken one aborts, pauses on an internal
// error, or crawls.
func (d *QemuDriver) ProbeKVM(ctx context.Context, machine, cpuModel string, timeout time.Duration) error {
	if err := openKVMDevice("/dev/kvm"); err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "packer-kvm-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// KVM only runs the host's architecture (driver_qemu_probe.go).
	probe, err := newKVMProbe(HostArch(), dir)
	if err != nil {
		return err
	}
	args := append([]string{
		"-accel", "kvm", "-machine", machine, "-cpu", cpuModel, "-m", "128",
		"-nodefaults", "-display", "none", "-no-user-config",
	}, probe.args...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stderr lockedBuffer
	cmd := exec.CommandContext(ctx, d.QemuBinary, args...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
	}()

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("QEMU exited under KVM: %s", cmp.Or(kvmErrorSummary(stderr.String()), fmt.Sprint(err)))
		case <-ctx.Done():
			return fmt.Errorf("KVM did not run the probe guest to its end within %s (a nested or paravirtualized host?)%s", timeout, probeProgress(probe))
		case <-tick.C:
			if msg := stderr.String(); strings.Contains(msg, "KVM internal error") || strings.Contains(msg, "emulation failure") {
				return fmt.Errorf("KVM stopped the guest: %s%s", kvmErrorSummary(msg), probeProgress(probe))
			}
			if probe.ran() {
				return nil
			}
		}
	}
}

// probeProgress is ", after <how far the probe came>" or "".
func probeProgress(p *kvmProbe) string {
	if how := p.progress(); how != "" {
		return "; " + how
	}
	return ""
}

// kvmErrorSummary is QEMU's message about KVM on one line: the lines that
// say what failed, without the register dump of a KVM internal error, the
// assertion QEMU aborts on, or the binary's name on each line.
func kvmErrorSummary(msg string) string {
	var keep []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "qemu-system-") {
			if _, rest, ok := strings.Cut(line, ": "); ok {
				line = rest
			}
		}
		switch {
		case line == "", strings.Contains(line, "Assertion"), strings.Contains(line, "warning:"):
		case strings.Contains(line, "KVM"), strings.Contains(line, "kvm"), strings.Contains(line, "error"),
			strings.Contains(line, "emulation failure"), strings.Contains(line, "MSR"):
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "; ")
}

// Start implements Driver.
func (d *QemuDriver) Start(args []string, qmpSocket string) (VM, error) {
	log.Printf("[INFO] starting %s %s", d.QemuBinary, strings.Join(args, " "))
	cmd := exec.Command(d.QemuBinary, args...)
	vm := &qemuVM{qmpTimeout: cmp.Or(d.QMPTimeout, DefaultQMPTimeout), stopGrace: cmp.Or(d.StopGrace, DefaultStopGrace)}
	cmd.Stderr = &vm.stderr
	proc, err := startProcess(cmd, func(err error) error {
		if err != nil && vm.stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(vm.stderr.String()))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", d.QemuBinary, err)
	}
	vm.process = proc
	if err := vm.connectQMP(qmpSocket); err != nil {
		_ = vm.Stop()
		return nil, err
	}
	vm.pumpEvents()
	return vm, nil
}

// qemuVM is a QEMU process the driver started, and its QMP monitor.
type qemuVM struct {
	*process
	stderr lockedBuffer
	// qmpTimeout and stopGrace are the driver's QMPTimeout and StopGrace.
	qmpTimeout, stopGrace time.Duration

	mu     sync.Mutex
	mon    *qmp.SocketMonitor
	events chan VMEvent
}

// pumpEvents reads the monitor's events for as long as it is connected.
// The qmp package hands events and command replies over from one reader
// goroutine, so an event nobody takes would block every later command:
// this always takes them, and passes them on while there is room.
func (vm *qemuVM) pumpEvents() {
	vm.events = make(chan VMEvent, 64)
	raw, _ := vm.mon.Events(context.Background())
	go func() {
		defer close(vm.events)
		for e := range raw {
			log.Printf("[DEBUG] QMP event %s %v", e.Event, e.Data)
			select {
			case vm.events <- VMEvent{Name: e.Event, Data: e.Data}:
			default:
				log.Printf("[WARN] QMP event %s dropped: nobody is reading", e.Event)
			}
		}
	}()
}

// connectQMP waits for QEMU to create its monitor socket.
func (vm *qemuVM) connectQMP(socket string) error {
	err := vm.waitForSocket(15*time.Second, 100*time.Millisecond, func() error {
		mon, err := qmp.NewSocketMonitor("unix", socket, 2*time.Second)
		if err == nil {
			if err = mon.Connect(); err == nil {
				vm.mon = mon
			}
		}
		return err
	})
	switch {
	case errors.Is(err, errExitedAtStart):
		return fmt.Errorf("QEMU exited at start: %v", vm.err)
	case err != nil:
		return fmt.Errorf("QEMU's QMP socket did not answer: %w", err)
	}
	return nil
}

func (vm *qemuVM) run(command string) ([]byte, error) {
	return vm.runContext(context.Background(), command)
}

// runContext sends one QMP command and waits for its reply until ctx ends,
// the VM's qmpTimeout passes or QEMU exits. The qmp package cannot abandon a
// command, so the wait happens here: a late reply is still read (and
// dropped) by the goroutine that sent it, and later commands queue behind
// it in the package.
func (vm *qemuVM) runContext(ctx context.Context, command string) ([]byte, error) {
	return vm.send(ctx, command, []byte(fmt.Sprintf(`{"execute":%q}`, command)))
}

// send sends one encoded QMP request (for the command named command) with
// runContext's deadline rules.
func (vm *qemuVM) send(ctx context.Context, command string, request []byte) ([]byte, error) {
	select {
	case <-vm.exited:
		return nil, errors.New("QEMU is not running")
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, vm.qmpTimeout)
	defer cancel()
	type reply struct {
		raw []byte
		err error
	}
	replied := make(chan reply, 1)
	go func() {
		raw, err := vm.mon.Run(request)
		replied <- reply{raw, err}
	}()
	select {
	case r := <-replied:
		return r.raw, r.err
	case <-vm.exited:
		return nil, errors.New("QEMU is not running")
	case <-ctx.Done():
		return nil, fmt.Errorf("QMP %s: QEMU's monitor did not answer: %w", command, ctx.Err())
	}
}

func (vm *qemuVM) Exited() <-chan struct{} { return vm.exited }
func (vm *qemuVM) Events() <-chan VMEvent  { return vm.events }
func (vm *qemuVM) ExitError() error        { return vm.err }

func (vm *qemuVM) Status(ctx context.Context) (string, error) {
	raw, err := vm.runContext(ctx, "query-status")
	if err != nil {
		return "", err
	}
	var reply struct {
		Return struct {
			Status string `json:"status"`
		} `json:"return"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil {
		return "", err
	}
	return reply.Return.Status, nil
}

func (vm *qemuVM) PowerDown(ctx context.Context) error {
	_, err := vm.runContext(ctx, "system_powerdown")
	return err
}

// Stop asks QEMU to quit and kills it when it has not exited within
// its stopGrace, whether or not its monitor answered. Concurrent calls (a
// step's cleanup and the watch) take turns.
func (vm *qemuVM) Stop() error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	select {
	case <-vm.exited:
		return nil
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), vm.stopGrace)
	defer cancel()
	if vm.mon != nil {
		if _, err := vm.runContext(ctx, "quit"); err != nil {
			log.Printf("[WARN] QMP quit: %v", err)
		}
	}
	select {
	case <-vm.exited:
	case <-ctx.Done():
		log.Printf("[WARN] QEMU did not quit within %s: killing it", vm.stopGrace)
		_ = vm.cmd.Process.Kill()
		<-vm.exited
	}
	if vm.mon != nil {
		_ = vm.mon.Disconnect()
	}
	return nil
}

// lockedBuffer collects a child's stderr while other goroutines read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

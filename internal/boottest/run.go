package boottest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kvmforge/packer-plugin-kvm/internal/console"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemuimg"
)

// Test is one output to boot.
type Test struct {
	// Output is the exported file; it is only ever read.
	Output string
	// Format is the export format (qcow2, raw, vmdk, vhdx, vhd, vdi, gce,
	// ova) and Compression its whole-file compression (none, gzip, zstd,
	// xz).
	Format, Compression string
	Hardware            Hardware
}

// Options are shared by every test of a run.
type Options struct {
	QemuImgBinary string
	// QemuBinary overrides the architecture's emulator ("" for the
	// default, such as qemu-system-x86_64).
	QemuBinary  string
	Accelerator string
	MemoryMiB   int
	Timeout     time.Duration
	// Pattern, when set, proves the boot instead of the seed's line: the
	// test then attaches no seed.
	Pattern *regexp.Regexp
	// Parallel is how many VMs run at once.
	Parallel int
	// FirmwareDirs are QEMU's firmware descriptor directories.
	FirmwareDirs []string
	// Say reports progress (Packer's UI).
	Say func(string)
}

// Result is a test's outcome.
type Result struct {
	Test    Test
	Passed  bool
	Elapsed time.Duration
	// Reason says why it failed; Console is the serial console's last
	// lines.
	Reason, Console string
}

// consoleTailLines is how much of the console a failure shows.
const consoleTailLines = 25

// Error describes a failed test: the output, the hardware, why, and the
// console.
func (r Result) Error() string {
	return fmt.Sprintf("boot test of %s failed after %s on %s, %s accelerator: %s%s",
		filepath.Base(r.Test.Output), r.Elapsed.Round(time.Second), r.Test.Hardware, r.accel(), r.Reason, r.Console)
}

func (r Result) accel() string { return r.Test.Hardware.Accelerator }

// Run boots the tests, at most opts.Parallel at once, and returns their
// results in order. A cancelled ctx stops every VM; nothing of a test is
// left behind either way.
func Run(ctx context.Context, tests []Test, opts Options) []Result {
	results := make([]Result, len(tests))
	// Every test runs to its own result: one failing stops none of the
	// others, so no function of the group returns an error.
	var g errgroup.Group
	g.SetLimit(max(opts.Parallel, 1))
	for i, t := range tests {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				results[i] = Result{Test: t, Reason: "cancelled: " + err.Error()}
				return nil
			}
			results[i] = runOne(ctx, t, opts)
			return nil
		})
	}
	_ = g.Wait()
	return results
}

func runOne(ctx context.Context, t Test, opts Options) Result {
	start := time.Now()
	res := Result{Test: t}
	dir, err := os.MkdirTemp("", "packer-kvm-boottest-")
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	defer os.RemoveAll(dir)
	opts.say(fmt.Sprintf("Boot test of %s: %s, %s accelerator", filepath.Base(t.Output), t.Hardware, t.Hardware.Accelerator))
	res.Passed, res.Reason, res.Console = boot(ctx, t, opts, dir)
	res.Elapsed = time.Since(start)
	return res
}

func (o Options) say(msg string) {
	if o.Say != nil {
		o.Say(msg)
	}
}

// boot prepares the VM's files in dir, runs it and watches its console.
func boot(ctx context.Context, t Test, opts Options, dir string) (bool, string, string) {
	m, err := prepare(ctx, t, opts, dir)
	if err != nil {
		return false, err.Error(), ""
	}
	binary := opts.QemuBinary
	if binary == "" {
		binary = qemu.ArchByName(t.Hardware.Arch).QemuBinary
	}
	driver, err := qemu.NewQemuDriver(binary, opts.QemuImgBinary)
	if err != nil {
		return false, err.Error(), ""
	}
	vm, err := driver.Start(Args(t.Hardware, m.Media), m.QMPSocket)
	if err != nil {
		return false, err.Error(), tail(m.SerialLog)
	}
	defer vm.Stop()
	judge := Judge{Nonce: m.nonce, Pattern: opts.Pattern}
	deadline := time.NewTimer(opts.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, "cancelled: " + ctx.Err().Error(), ""
		case <-vm.Exited():
			// The console may have got its last lines just before.
			if verdict, reason := judge.Judge(readConsole(m.SerialLog)); verdict != Pending {
				return verdict == Passed, reason, tailIf(verdict != Passed, m.SerialLog)
			}
			why := "QEMU exited before the guest proved it came up (the guest powered off or rebooted)"
			if err := vm.ExitError(); err != nil {
				why = fmt.Sprintf("QEMU exited before the guest proved it came up: %v", err)
			}
			return false, why, tail(m.SerialLog)
		case <-deadline.C:
			text := readConsole(m.SerialLog)
			why := fmt.Sprintf("the guest did not prove it came up within boot_test_timeout (%s)", opts.Timeout)
			if stalled := Stalled(text); stalled != "" {
				why += ": " + stalled
			}
			return false, why, tail(m.SerialLog)
		case <-tick.C:
			if verdict, reason := judge.Judge(readConsole(m.SerialLog)); verdict != Pending {
				return verdict == Passed, reason, tailIf(verdict != Passed, m.SerialLog)
			}
		}
	}
}

// prepared is a test's media and its nonce.
type prepared struct {
	Media
	nonce string
}

// prepare writes the test's overlay, seed and firmware variables in dir.
func prepare(ctx context.Context, t Test, opts Options, dir string) (prepared, error) {
	nonce, err := newNonce()
	if err != nil {
		return prepared{}, err
	}
	p := prepared{nonce: nonce, Media: Media{
		Accelerator: t.Hardware.Accelerator, CPUs: 1, MemoryMiB: opts.MemoryMiB,
		Overlay: filepath.Join(dir, "overlay.qcow2"), SerialLog: filepath.Join(dir, "serial.log"),
		QMPSocket: filepath.Join(dir, "qmp.sock"),
	}}
	output, err := filepath.Abs(t.Output)
	if err != nil {
		return p, err
	}
	disk, err := diskImage(ctx, output, t.Format, t.Compression, dir)
	if err != nil {
		return p, fmt.Errorf("taking the disk out of %s: %w", t.Output, err)
	}
	// The overlay takes every write: the output stays as exported.
	if err := qemuimg.New(opts.QemuImgBinary).CreateOverlay(ctx, disk, DiskFormat(t.Format), p.Overlay, 0); err != nil {
		return p, fmt.Errorf("creating the test's overlay: %w", err)
	}
	if opts.Pattern == nil {
		p.Seed = filepath.Join(dir, "seed.iso")
		if err := writeSeed(p.Seed, nonce, qemu.ArchByName(t.Hardware.Arch).SerialConsole); err != nil {
			return p, fmt.Errorf("writing the test's seed: %w", err)
		}
	}
	if t.Hardware.Firmware == "uefi" {
		code, vars, smm, err := uefiFirmware(t.Hardware, opts.FirmwareDirs, dir)
		if err != nil {
			return p, err
		}
		p.EFICode, p.EFIVars, p.EFIFormats, p.EFISMM = code.Filename, vars.Filename, [2]string{code.Format, vars.Format}, smm
	}
	return p, nil
}

func newNonce() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("no randomness for the test's nonce")
	}
	return hex.EncodeToString(b), nil
}

// readConsole is the serial log as a person would read it.
func readConsole(path string) string {
	data, _ := os.ReadFile(path)
	return console.Clean(data)
}

// tail is the console's last lines for a message.
func tail(path string) string {
	text := strings.Trim(readConsole(path), "\n")
	if text == "" {
		return "\n(the serial console printed nothing)"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > consoleTailLines {
		lines = lines[len(lines)-consoleTailLines:]
	}
	return fmt.Sprintf("\nLast %d lines of the serial console:\n%s", len(lines), strings.Join(lines, "\n"))
}

func tailIf(cond bool, path string) string {
	if cond {
		return tail(path)
	}
	return ""
}

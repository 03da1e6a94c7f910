//go:generate packer-sdc struct-markdown

package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kvmforge/packer-plugin-kvm/internal/boottest"
	"github.com/kvmforge/packer-plugin-kvm/internal/firmware"
	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// BootTestOptions prove that each output boots: after the outputs are
// written, each selected one is booted in a throwaway QEMU VM, on a
// temporary overlay (the output is never written), with its platform's
// virtual hardware as far as QEMU has it (see the table of targets), the
// image's architecture and firmware (the kvm builder's `Architecture` and
// `Firmware`).
type BootTestOptions struct {
	// Boot test of every target: `off` (default), `on` (a target that does
	// not boot fails the build, and the export's files are removed) or
	// `warn` (the failure is reported and the build goes on). A target's
	// own `boot_test` overrides it. The guest gets a NoCloud seed of the
	// test's own, with a fresh instance-id: once cloud-init's final stage
	// runs with a default route, it prints a per-test nonce on the first
	// serial port and powers off. A failure names the target, the hardware
	// and shows the serial console's last lines.
	BootTest string `mapstructure:"boot_test"`
	// How long a guest has to prove it booted. Default `5m`, which a cloud
	// image needs under TCG on a loaded host.
	BootTestTimeout time.Duration `mapstructure:"boot_test_timeout"`
	// Memory of each test VM in MiB. Default 1024.
	BootTestMemory int `mapstructure:"boot_test_memory"`
	// For images without cloud-init (or with the NoCloud datasource off): a
	// regular expression; the boot passes when a line of the serial console
	// matches it, for example `\slogin:\s*$` for a getty on the serial console.
	// The test then attaches no seed.
	BootTestConsolePattern string `mapstructure:"boot_test_console_pattern"`
	// QEMU accelerator of the test VMs: `kvm`, `tcg`, `hvf` or `whpx`.
	// Defaults to the kvm builder's (its `Accelerator`), else `tcg`; a
	// foreign architecture is always emulated (`tcg`).
	BootTestAccelerator string `mapstructure:"boot_test_accelerator"`
	// How many test VMs (one vCPU each) run at once. Defaults to the
	// host's cores, as far as its available memory holds them.
	BootTestParallel int `mapstructure:"boot_test_parallel"`
}

var (
	validBootTestModes        = []string{"off", "on", "warn"}
	validBootTestAccelerators = []string{"kvm", "tcg", "hvf", "whpx"}
)

const (
	defaultBootTestTimeout = 5 * time.Minute
	defaultBootTestMemory  = 1024
)

func (o *BootTestOptions) applyBootTestDefaults() {
	o.BootTest = cmp.Or(o.BootTest, "off")
	o.BootTestTimeout = cmp.Or(o.BootTestTimeout, defaultBootTestTimeout)
	o.BootTestMemory = cmp.Or(o.BootTestMemory, defaultBootTestMemory)
}

// validateBootTest reports the boot test options that cannot work.
func (c *Config) validateBootTest() []error {
	o := &c.BootTestOptions
	var errs []error
	errs = appendIfErr(errs, validate.OneOf("boot_test", o.BootTest, validBootTestModes))
	for i, t := range c.Targets {
		if t.BootTest != "" {
			errs = appendIfErr(errs, validate.OneOf(fmt.Sprintf("target[%d].boot_test", i), t.BootTest, validBootTestModes))
		}
	}
	if o.BootTestTimeout < 0 {
		errs = append(errs, fmt.Errorf("boot_test_timeout %s is negative: give a duration such as \"5m\"", o.BootTestTimeout))
	}
	if o.BootTestMemory < 128 {
		errs = append(errs, fmt.Errorf("boot_test_memory %d: give at least 128 (MiB; default %d)", o.BootTestMemory, defaultBootTestMemory))
	}
	if o.BootTestParallel < 0 {
		errs = append(errs, fmt.Errorf("boot_test_parallel %d: give at least 1, or leave it unset for the host's cores", o.BootTestParallel))
	}
	if o.BootTestAccelerator != "" {
		errs = appendIfErr(errs, validate.OneOf("boot_test_accelerator", o.BootTestAccelerator, validBootTestAccelerators))
	}
	if _, err := regexp.Compile(o.BootTestConsolePattern); err != nil {
		errs = append(errs, fmt.Errorf("boot_test_console_pattern is not a regular expression: %w", err))
	}
	return errs
}

// bootTestMode is a target's mode: its own, else the post-processor's.
func (c *Config) bootTestMode(t Target) string { return cmp.Or(t.BootTest, c.BootTest) }

// BootTestResult is one output's boot test, as the artifact reports it.
type BootTestResult struct {
	Path     string
	Hardware string
	Passed   bool
	Seconds  float64
	// Error is why it failed, with the console's last lines.
	Error string
}

// runBootTests boots each output whose target asks for it. It returns the
// results and, when a target in mode `on` failed, an error naming each.
func (p *PostProcessor) runBootTests(ctx context.Context, ui packersdk.Ui, plans []plannedOutput, generated map[string]interface{}) ([]BootTestResult, error) {
	c := &p.config
	var tests []boottest.Test
	var modes []string
	for _, plan := range plans {
		mode := c.bootTestMode(plan.Target)
		if mode == "off" {
			continue
		}
		tests = append(tests, boottest.Test{
			Output: plan.Path, Format: plan.Target.Format, Compression: plan.Target.Compression,
			Hardware: c.bootTestHardware(plan.Target, generated),
		})
		modes = append(modes, mode)
	}
	if len(tests) == 0 {
		return nil, nil
	}
	opts := c.bootTestOptions(ui)
	ui.Say(fmt.Sprintf("Boot testing %d outputs, %d at a time (timeout %s each)", len(tests), opts.Parallel, opts.Timeout))
	var reports []BootTestResult
	var failed []string
	for i, r := range boottest.Run(ctx, tests, opts) {
		report := BootTestResult{Path: r.Test.Output, Hardware: r.Test.Hardware.String(), Passed: r.Passed, Seconds: r.Elapsed.Seconds()}
		switch {
		case r.Passed:
			ui.Say(fmt.Sprintf("Boot test of %s passed in %s", filepath.Base(r.Test.Output), r.Elapsed.Round(100*time.Millisecond)))
		case modes[i] == "warn":
			report.Error = r.Error()
			ui.Error("Warning: " + report.Error)
		default:
			report.Error = r.Error()
			ui.Error(report.Error)
			failed = append(failed, report.Error)
		}
		reports = append(reports, report)
	}
	if err := ctx.Err(); err != nil {
		return reports, err
	}
	if len(failed) > 0 {
		return reports, errors.New(strings.Join(failed, "\n"))
	}
	return reports, nil
}

// bootTestHardware is the VM a target is booted in.
func (c *Config) bootTestHardware(t Target, generated map[string]interface{}) boottest.Hardware {
	arch, _ := generated["Architecture"].(string)
	fw, _ := generated["Firmware"].(string)
	if t.Format == "ova" {
		fw = t.OVAOptions.Firmware
	}
	h := boottest.ForTarget(boottest.TargetOptions{
		Format: t.Format, OVAController: t.DiskController, OVANIC: t.NetworkAdapter, Firmware: fw, Arch: arch,
	})
	built, _ := generated["Accelerator"].(string)
	h.Accelerator = cmp.Or(c.BootTestAccelerator, built, "tcg")
	if !qemu.ArchByName(arch).KVMCanRun(qemu.HostArch()) {
		h.Accelerator = "tcg"
	}
	return h
}

func (c *Config) bootTestOptions(ui packersdk.Ui) boottest.Options {
	o := &c.BootTestOptions
	opts := boottest.Options{
		QemuImgBinary: c.QemuImgBinary, MemoryMiB: o.BootTestMemory, Timeout: o.BootTestTimeout,
		Parallel: o.BootTestParallel, FirmwareDirs: firmware.DefaultDirs(), Say: ui.Say,
	}
	if opts.Parallel == 0 {
		opts.Parallel = boottest.DefaultConcurrency(o.BootTestMemory)
	}
	if o.BootTestConsolePattern != "" {
		opts.Pattern = regexp.MustCompile(o.BootTestConsolePattern)
	}
	return opts
}

func outputPaths(outputs []Output) []string {
	var paths []string
	for _, o := range outputs {
		paths = append(paths, o.Path)
	}
	return paths
}

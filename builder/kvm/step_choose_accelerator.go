package kvm

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

// stepChooseAccelerator settles the accelerator before the real boot:
// the host's own (KVM, HVF or WHPX) when it can run a guest, else TCG. A
// Linux host whose /dev/kvm opens but cannot run a guest (nested or
// paravirtualized hosts, common on CI) would otherwise abort, pause, or
// crawl until ssh_timeout; a short probe finds that out in about a second.
// Under `auto` the verdict is remembered per host (qemu.VerdictStore),
// so the next build skips the probe, and a build that KVM failed anyway is
// restarted under TCG by the builder (accelerator_fallback.go) with Avoid
// set.
//
// It reads driver and ui, and writes accelerator and, when it consulted
// the verdicts, accelerator_host.
type stepChooseAccelerator struct {
	Mode         string // auto | kvm | hvf | whpx | tcg
	MachineType  string
	CPUModel     string
	ProbeTimeout time.Duration
	// HostOS is the host's GOOS; empty means this host's.
	HostOS string
	// ProbeNative tells whether HVF or WHPX is available; nil means
	// ProbeHostAccelerator.
	ProbeNative func(accel string) error
	// Arch is the guest's architecture and HostArch the host's (the
	// running machine's when empty): a foreign guest is never probed.
	Arch, HostArch string
	// Verdicts remembers what KVM did on this host (nil: always probe).
	Verdicts *qemu.VerdictStore
	// Avoid is why KVM already failed this build: `auto` then goes
	// straight to TCG.
	Avoid error
	// DevKVM is the KVM device a remembered success still has to open
	// ("/dev/kvm" when empty).
	DevKVM string
}

func (s *stepChooseAccelerator) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	driver := keyDriver.Get(state)

	if decided, action := s.settleForeignGuest(state); decided {
		return action
	}
	start := time.Now()
	remembered := ""
	probe := func(accel string) error {
		switch {
		case accel == "kvm" && s.Mode == "auto":
			var err error
			remembered, err = s.probeKVMOnce(ctx, state, driver)
			return err
		case accel == "kvm":
			return driver.ProbeKVM(ctx, s.MachineType, s.cpuModel(), s.ProbeTimeout)
		case s.ProbeNative != nil:
			return s.ProbeNative(accel)
		default:
			return qemu.ProbeHostAccelerator(accel)
		}
	}
	accel, fallback, err := qemu.SelectAccelerator(s.Mode, cmp.Or(s.HostOS, runtime.GOOS), probe)
	switch {
	case ctx.Err() != nil:
		return halt(state, ctx.Err())
	case err != nil:
		return halt(state, err)
	case fallback != nil:
		// One line that says why, so that nobody has to wonder why a build
		// is slow.
		ui.Error(fmt.Sprintf("Accelerator: tcg, because %s (decided in %s). TCG emulates the CPU and is several times slower: see Troubleshooting in the plugin's README",
			fallback, time.Since(start).Round(100*time.Millisecond)))
	case remembered != "":
		ui.Say(fmt.Sprintf("Accelerator: %s (it ran a guest on this host before: %s)", accel, remembered))
	default:
		ui.Say(fmt.Sprintf("Accelerator: %s", accel))
	}
	keyAccelerator.Put(state, accel)
	return multistep.ActionContinue
}

func (s *stepChooseAccelerator) cpuModel() string { return cmp.Or(s.CPUModel, "host") }

// probeKVMOnce decides about KVM under `auto`: a failure earlier in this
// build or a remembered verdict decides at once; otherwise the probe runs
// and a failure is remembered. A success is remembered only once a guest
// has reached SSH (rememberKVMWorked): the probe alone does not prove that.
// It returns where a remembered success came from, for the UI.
func (s *stepChooseAccelerator) probeKVMOnce(ctx context.Context, state multistep.StateBag, driver qemu.Driver) (string, error) {
	if s.Avoid != nil {
		return "", s.Avoid
	}
	if s.Verdicts == nil {
		return "", driver.ProbeKVM(ctx, s.MachineType, s.cpuModel(), s.ProbeTimeout)
	}
	version, _ := driver.QemuVersion(ctx)
	host := qemu.CurrentHost(version, s.MachineType, s.cpuModel())
	keyAcceleratorHost.Put(state, host)
	if v, ok := s.Verdicts.Load(host); ok {
		path := s.Verdicts.Path(host)
		if v.Accelerator != "kvm" {
			return "", fmt.Errorf("%s (remembered from %s in %s: delete that file to probe again)", v.Reason, v.Decided.Format(time.DateOnly), path)
		}
		if f, err := os.OpenFile(cmp.Or(s.DevKVM, "/dev/kvm"), os.O_RDWR, 0); err == nil {
			f.Close()
			return "remembered in " + path, nil
		}
		// The device went away (or its permissions changed): probe again.
	}
	err := driver.ProbeKVM(ctx, s.MachineType, s.cpuModel(), s.ProbeTimeout)
	// A device this user may not open says nothing about the host's KVM.
	if err != nil && ctx.Err() == nil && !qemu.IsKVMDeviceError(err) {
		if _, serr := s.Verdicts.Save(qemu.AcceleratorVerdict{Accelerator: "tcg", Reason: err.Error(), Decided: time.Now().UTC(), Host: host}); serr != nil {
			keyUI.Get(state).Error(fmt.Sprintf("Warning: %s", serr))
		}
	}
	return "", err
}

func (s *stepChooseAccelerator) Cleanup(multistep.StateBag) {}

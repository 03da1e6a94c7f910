package kvm

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/sshprobe"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
)

// stepWaitForSSH polls the forwarded port for sshd's banner. QEMU's
// user-mode network accepts a TCP connection long before the guest
// listens, so a plain SSH handshake there can hang for tens of seconds; a
// banner read with a short deadline, a few times a second, sees sshd within
// a fraction of a second of it listening. A VM that fails meanwhile ends
// the step through the VM watch (internal/vmwatch); a guest whose serial console
// stays silent for ProgressTimeout (an unbootable disk, a hung boot loader
// or kernel) fails it long before Timeout, with the console's last lines,
// and so does UEFI firmware that says it found nothing it may boot
// (vmwatch.BootProgress, vmwatch.FirmwareBoot).
//
// An installer build (WatchActivity) also counts the screen changing and
// the disks being read or written as progress, as a person watching would.
//
// With net_bridge it polls the guest's address (guest_address) instead.
//
// It reads ui, ssh_host_port, guest_address and serial_log (and vm and work_dir with
// WatchActivity).
type stepWaitForSSH struct {
	Timeout time.Duration
	// ProgressTimeout bounds the silence on the serial console; 0 disables.
	ProgressTimeout time.Duration
	// WatchActivity also counts screen changes and disk reads and writes
	// as progress: installers may print nothing on the serial console.
	WatchActivity bool
	// ActivityInterval is how often they are sampled (5s if 0).
	ActivityInterval time.Duration
	PollInterval     time.Duration
	BannerTimeout    time.Duration
}

// bannerTimeout bounds one probe. sshd re-executes itself for every
// connection before it sends its banner, which takes seconds in a loaded
// emulated guest; a probe that meets a closed port ends at once (the user
// network resets the connection), so a generous bound costs no latency.
const bannerTimeout = 5 * time.Second

func (s *stepWaitForSSH) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := keyUI.Get(state)
	host, port := sshHost(state), keySSHHostPort.Get(state)
	serialLog := keySerialLog.Get(state)
	interval := s.PollInterval
	if interval == 0 {
		interval = 250 * time.Millisecond
	}
	if s.BannerTimeout == 0 {
		s.BannerTimeout = bannerTimeout
	}

	ui.Say("Waiting for the guest's SSH server...")
	start := time.Now()
	deadline := time.NewTimer(s.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	serial := serialLogOf(serialLog)
	var activity *vmwatch.Activity
	activityEvery := s.ActivityInterval
	if s.WatchActivity {
		activity = vmwatch.NewActivity(keyVM.Get(state), screenDumpPath(state))
		if activityEvery == 0 {
			activityEvery = 5 * time.Second
		}
		defer activity.Cleanup()
	}
	progress := vmwatch.NewBootProgress(serial, activity, activityEvery)
	firmware := vmwatch.NewFirmwareBoot(serial)
	for {
		select {
		case <-ctx.Done():
			return halt(state, ctx.Err())
		case <-deadline.C:
			return halt(state, fmt.Errorf("timed out after %s waiting for SSH on %s (ssh_timeout)%s", s.Timeout, net.JoinHostPort(host, strconv.Itoa(port)), serialTail(serialLog, 30)))
		case <-tick.C:
		}
		if err := progress.Check(ctx, s.ProgressTimeout); err != nil {
			return halt(state, err)
		}
		if err := firmware.Check(); err != nil {
			return halt(state, err)
		}
		if sshprobe.BannerAt(host, port, s.BannerTimeout) {
			ui.Say(fmt.Sprintf("SSH is up after %s", time.Since(start).Round(100*time.Millisecond)))
			return multistep.ActionContinue
		}
	}
}

// screenDumpPath is where the activity watch has QEMU write screendumps:
// the build's work directory, removed with the build.
func screenDumpPath(state multistep.StateBag) string {
	dir := keyWorkDir.Get(state)
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "screen.ppm")
}

func (s *stepWaitForSSH) Cleanup(multistep.StateBag) {}

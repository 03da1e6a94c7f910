package kvm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepWaitForSSH polls the forwarded port for sshd's banner. QEMU's
// user-mode network accepts a TCP connection long before the guest
// listens, so a plain SSH handshake there can hang for tens of seconds; a
// banner read with a short deadline, a few times a second, sees sshd within
// a fraction of a second of it listening. A VM that fails meanwhile ends
// the step through the VM watch (vm_watch.go); a guest whose serial console
// stays silent for ProgressTimeout (an unbootable disk, a hung boot loader
// or kernel) fails it long before Timeout, with the console's last lines,
// and so does UEFI firmware that says it found nothing it may boot
// (firmware_boot_failure.go).
//
// An installer build (WatchActivity) also counts the screen changing and
// the disks being read or written as progress, as a person watching would.
//
// It reads ui, ssh_host_port and serial_log (and vm and work_dir with
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
	port := keySSHHostPort.Get(state)
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
	progress := bootProgress{path: serialLog, lastChange: start}
	if s.WatchActivity {
		vm := keyVM.Get(state)
		progress.activity = &vmActivity{vm: vm, screenFile: screenDumpPath(state)}
		progress.activityEvery = s.ActivityInterval
		if progress.activityEvery == 0 {
			progress.activityEvery = 5 * time.Second
		}
		defer progress.activity.cleanup()
	}
	firmware := firmwareBootWatch{path: serialLog}
	for {
		select {
		case <-ctx.Done():
			return halt(state, ctx.Err())
		case <-deadline.C:
			return halt(state, fmt.Errorf("timed out after %s waiting for SSH on 127.0.0.1:%d (ssh_timeout)%s", s.Timeout, port, serialTail(serialLog, 30)))
		case <-tick.C:
		}
		if err := progress.check(ctx, s.ProgressTimeout); err != nil {
			return halt(state, err)
		}
		if err := firmware.check(); err != nil {
			return halt(state, err)
		}
		if sshBanner(port, s.BannerTimeout) {
			ui.Say(fmt.Sprintf("SSH is up after %s", time.Since(start).Round(100*time.Millisecond)))
			return multistep.ActionContinue
		}
	}
}

// bootProgress tells a booting guest from a stuck one by its serial
// console: boot loaders, kernels and systemd all print there, so a console
// that stays silent for minutes belongs to a guest that is getting nowhere.
// An installer may print nothing there (Debian's and Ubuntu's do not), so
// for installer builds activity (vm_activity.go) also counts what a person
// watching would see: the screen changing, the disks being read or written.
type bootProgress struct {
	path       string
	size       int64
	lastChange time.Time
	// activity samples the VM every activityEvery; nil watches the serial
	// console only.
	activity      *vmActivity
	activityEvery time.Duration
	lastSample    time.Time
}

func (p *bootProgress) check(ctx context.Context, timeout time.Duration) error {
	if timeout <= 0 || p.path == "" {
		return nil
	}
	if fi, err := os.Stat(p.path); err == nil && fi.Size() != p.size {
		p.size, p.lastChange = fi.Size(), time.Now()
		return nil
	}
	if p.activity != nil && time.Since(p.lastSample) >= p.activityEvery {
		p.lastSample = time.Now()
		if p.activity.changed(ctx) {
			p.lastChange = time.Now()
			return nil
		}
	}
	if time.Since(p.lastChange) < timeout {
		return nil
	}
	if p.activity != nil {
		return fmt.Errorf("%s for %s (boot_progress_timeout): the installer is stuck; is it waiting for input (watch its console with vnc = true; check boot_command and boot_wait)? Raise boot_progress_timeout for a slower install, or set it to \"0\" to wait for ssh_timeout only%s",
			p.activity.describeIdle(p.size == 0), timeout, serialTail(p.path, 30))
	}
	what := fmt.Sprintf("the guest's serial console has been silent for %s", timeout)
	if p.size == 0 {
		what = fmt.Sprintf("the guest printed nothing on its serial console in %s", timeout)
	}
	return fmt.Errorf("%s (boot_progress_timeout): it is not booting; is the source image bootable and complete, with a console on ttyS0? Raise boot_progress_timeout for a slow boot, or set it to \"0\" to wait for ssh_timeout only%s",
		what, serialTail(p.path, 30))
}

func (s *stepWaitForSSH) Cleanup(multistep.StateBag) {}

// sshBanner reports whether sshd answers on the port with its banner.
func sshBanner(port int, timeout time.Duration) bool {
	conn, err := stdnet.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4)
	n, _ := io.ReadFull(conn, buf)
	return bytes.Equal(buf[:n], []byte("SSH-"))
}

package kvm

import (
	"bytes"
	"context"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepWaitForSSH polls the forwarded port for sshd's banner while watching
// the VM. QEMU's user-mode network accepts a TCP connection long before the
// guest listens, so a plain SSH handshake there can hang for tens of
// seconds; a banner read with a short deadline, a few times a second, sees
// sshd within a fraction of a second of it listening. If QEMU exits, or
// QMP reports the guest stopped on an internal error or a panic, the build
// fails at once with the reason and the serial console's last lines.
type stepWaitForSSH struct {
	Timeout       time.Duration
	PollInterval  time.Duration
	BannerTimeout time.Duration
}

// bannerTimeout bounds one probe. sshd re-executes itself for every
// connection before it sends its banner, which takes seconds in a loaded
// emulated guest; a probe that meets a closed port ends at once (the user
// network resets the connection), so a generous bound costs no latency.
const bannerTimeout = 5 * time.Second

// stoppedStates are QMP run states a guest does not leave by itself.
var stoppedStates = map[string]string{
	"internal-error": "the hypervisor stopped the guest on an internal error",
	"guest-panicked": "the guest kernel panicked",
	"shutdown":       "the guest powered off before SSH was up",
	"io-error":       "the guest stopped on a disk I/O error (host disk full?)",
}

func (s *stepWaitForSSH) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	vm := state.Get("vm").(VM)
	port := state.Get("ssh_host_port").(int)
	serialLog := stateString(state, "serial_log")
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
	for {
		select {
		case <-ctx.Done():
			return halt(state, ctx.Err())
		case <-vm.Exited():
			return halt(state, fmt.Errorf("QEMU exited while waiting for SSH: %v%s", vm.ExitError(), serialTail(serialLog, 30)))
		case <-deadline.C:
			return halt(state, fmt.Errorf("timed out after %s waiting for SSH on 127.0.0.1:%d (ssh_timeout)%s", s.Timeout, port, serialTail(serialLog, 30)))
		case <-tick.C:
		}
		if status, err := vm.Status(ctx); err == nil {
			if why, stopped := stoppedStates[status]; stopped {
				return halt(state, fmt.Errorf("%s (QMP status %q)%s", why, status, serialTail(serialLog, 30)))
			}
		}
		if sshBanner(port, s.BannerTimeout) {
			ui.Say(fmt.Sprintf("SSH is up after %s", time.Since(start).Round(100*time.Millisecond)))
			return multistep.ActionContinue
		}
	}
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

// serialTail formats the last lines of the serial console for an error.
func serialTail(path string, lines int) string {
	if path == "" {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return "\n(the serial console printed nothing)"
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("\nLast %d lines of the serial console (%s):\n%s", len(all), path, strings.Join(all, "\n"))
}

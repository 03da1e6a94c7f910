package kvm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/kvmforge/packer-plugin-kvm/internal/bootscript"
	"github.com/kvmforge/packer-plugin-kvm/internal/console"
	"github.com/kvmforge/packer-plugin-kvm/internal/serialkeys"
	"github.com/kvmforge/packer-plugin-kvm/internal/vnc"
)

// userNetHostIP is the host as the guest sees it on QEMU's user network:
// the HTTP server on the host's loopback is reachable there.
const userNetHostIP = "10.0.2.2"

// bootCommandData are the variables a boot_command can use.
type bootCommandData struct {
	HTTPIP       string
	HTTPPort     int
	Name         string
	SSHPublicKey string
}

// stepTypeBootCommand waits BootWait, then types Command at the VM's
// console with the SDK's boot-command machinery (the same syntax as every
// Packer builder: <enter>, <f10>, <wait5>, <leftCtrlOn>...): over VNC with
// internal/vnc, or on the serial console with internal/serialkeys when
// SerialInput. The command's <waitSerial 'REGEXP'> tokens
// (internal/bootscript) wait until the serial console log prints text
// matching REGEXP (internal/console's Follower).
//
// It reads ui, vnc_port, vnc_password (over VNC), serial_console (over
// serial), serial_log, vm and http_port.
type stepTypeBootCommand struct {
	Command     string
	BootWait    time.Duration
	KeyInterval time.Duration
	Name        string
	PublicKey   func() string
	Ctx         interpolate.Context
	// SerialInput types on the serial console (boot_command_input =
	// "serial") instead of the VNC display.
	SerialInput bool
	// SerialTimeout is a <waitSerial> token's timeout when it gives none
	// (boot_serial_timeout).
	SerialTimeout time.Duration
	// Connect opens the key channel to the VNC display; nil means vnc.Dial.
	Connect vnc.ConnectFunc
	// PollInterval is how often a <waitSerial> reads the serial log; 0 is
	// the Follower's default.
	PollInterval time.Duration
}

func (s *stepTypeBootCommand) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if s.Command == "" {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	if _, ok := keyVNCPort.GetOk(state); !ok && !s.SerialInput {
		return halt(state, fmt.Errorf("boot_command needs the VM's VNC display, which is not running"))
	}
	if s.BootWait > 0 {
		ui.Say(fmt.Sprintf("Waiting %s for the installer's boot menu (boot_wait)...", s.BootWait))
		select {
		case <-time.After(s.BootWait):
		case <-ctx.Done():
			return halt(state, ctx.Err())
		}
	}
	httpPort := keyHTTPPort.Get(state)
	s.Ctx.Data = &bootCommandData{HTTPIP: guestHTTPIP(state), HTTPPort: httpPort, Name: s.Name, SSHPublicKey: s.publicKey()}
	command, err := interpolate.Render(s.Command, &s.Ctx)
	if err != nil {
		return halt(state, fmt.Errorf("boot_command: %w", err))
	}
	script, err := bootscript.Parse(command)
	if err != nil {
		return halt(state, err)
	}
	keys, conn, err := s.openKeys(ctx, state)
	if err != nil {
		return halt(state, err)
	}
	defer conn.Close()
	serialLog := keySerialLog.Get(state)
	follower := &console.Follower{Path: serialLog, Interval: s.PollInterval}
	defer follower.Close()
	for _, step := range script {
		if step.Wait != nil {
			err = s.waitSerial(ctx, state, follower, step.Wait)
		} else {
			err = typeKeys(ctx, keys, step.Keys)
		}
		if err != nil {
			return halt(state, err)
		}
	}
	return multistep.ActionContinue
}

// openKeys connects to the VNC display or the serial console's socket.
func (s *stepTypeBootCommand) openKeys(ctx context.Context, state multistep.StateBag) (bootcommand.BCDriver, io.Closer, error) {
	ui := keyUI.Get(state)
	if !s.SerialInput {
		keys, conn, err := vnc.Open(ctx, keyVNCPort.Get(state), keyVNCPassword.Get(state), s.KeyInterval, s.Connect)
		if err == nil {
			ui.Say("Typing the boot command over VNC...")
		}
		return keys, conn, err
	}
	serial, ok := keySerialConsole.GetOk(state)
	if !ok || serial == nil {
		return nil, nil, errors.New("boot_command_input = \"serial\" needs the VM's serial console, which is not connected")
	}
	ui.Say("Typing the boot command on the serial console...")
	// The connection is stepRunVM's, and stays open until the VM stops:
	// QEMU hands the typed bytes to the guest only as fast as its UART
	// takes them, and drops the rest when the client goes away.
	return serialkeys.New(ctx, serial, s.KeyInterval), io.NopCloser(nil), nil
}

// typeKeys types one part of the boot command in the SDK's syntax.
func typeKeys(ctx context.Context, keys bootcommand.BCDriver, command string) error {
	seq, err := bootcommand.GenerateExpressionSequence(command)
	if err != nil {
		return fmt.Errorf("boot_command: %w", err)
	}
	if err := seq.Do(ctx, keys); err != nil {
		return fmt.Errorf("typing the boot command: %w", err)
	}
	return nil
}

// waitSerial waits for a <waitSerial> token's pattern on the serial
// console; it fails with the console's last lines.
func (s *stepTypeBootCommand) waitSerial(ctx context.Context, state multistep.StateBag, follower *console.Follower, wait *bootscript.Wait) error {
	timeout := wait.Timeout
	if timeout == 0 {
		timeout = s.SerialTimeout
	}
	var exited <-chan struct{}
	if vm, ok := keyVM.GetOk(state); ok && vm != nil {
		exited = vm.Exited()
	}
	keyUI.Get(state).Say(fmt.Sprintf("Waiting for %s on the serial console...", wait.Token))
	err := follower.Wait(ctx, wait.Pattern, timeout, exited)
	tail := func() string { return serialTail(follower.Path, 20) }
	switch {
	case err == nil:
		return nil
	case errors.Is(err, console.ErrNoMatch):
		return fmt.Errorf("boot_command: %s saw no match on the serial console within %s: check the pattern against the console below, or give the token a longer timeout (<waitSerial 'REGEXP' 10m>) or set boot_serial_timeout%s", wait.Token, timeout, tail())
	case errors.Is(err, console.ErrStopped):
		return fmt.Errorf("boot_command: the VM stopped while %s waited for the serial console%s", wait.Token, tail())
	}
	return err
}

func (s *stepTypeBootCommand) publicKey() string {
	if s.PublicKey == nil {
		return ""
	}
	return strings.TrimSpace(s.PublicKey())
}

func (s *stepTypeBootCommand) Cleanup(multistep.StateBag) {}

package kvm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

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
// console over VNC with internal/vnc and the SDK's boot-command machinery (the same syntax
// as every Packer builder: <enter>, <f10>, <wait5>, <leftCtrlOn>...).
//
// It reads ui, vnc_port, vnc_password and http_port.
type stepTypeBootCommand struct {
	Command     string
	BootWait    time.Duration
	KeyInterval time.Duration
	Name        string
	PublicKey   func() string
	Ctx         interpolate.Context
	// Connect opens the key channel to the VNC display; nil means vnc.Dial.
	Connect vnc.ConnectFunc
}

func (s *stepTypeBootCommand) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if s.Command == "" {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	port, ok := keyVNCPort.GetOk(state)
	if !ok {
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
	announce := func() { ui.Say("Typing the boot command over VNC...") }
	if err := vnc.Type(ctx, command, port, keyVNCPassword.Get(state), s.KeyInterval, s.Connect, announce); err != nil {
		return halt(state, err)
	}
	return multistep.ActionContinue
}

func (s *stepTypeBootCommand) publicKey() string {
	if s.PublicKey == nil {
		return ""
	}
	return strings.TrimSpace(s.PublicKey())
}

func (s *stepTypeBootCommand) Cleanup(multistep.StateBag) {}

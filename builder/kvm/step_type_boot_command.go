package kvm

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
	vnc "github.com/mitchellh/go-vnc"
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
// console over VNC with the SDK's boot-command machinery (the same syntax
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
	// Connect opens the key channel to the VNC server on the port with the
	// display's password; the default is a go-vnc client on 127.0.0.1.
	Connect func(ctx context.Context, port int, password string) (bootcommand.VNCKeyEvent, io.Closer, error)
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
	s.Ctx.Data = &bootCommandData{HTTPIP: userNetHostIP, HTTPPort: httpPort, Name: s.Name, SSHPublicKey: s.publicKey()}
	command, err := interpolate.Render(s.Command, &s.Ctx)
	if err != nil {
		return halt(state, fmt.Errorf("boot_command: %w", err))
	}
	seq, err := bootcommand.GenerateExpressionSequence(command)
	if err != nil {
		return halt(state, fmt.Errorf("boot_command: %w", err))
	}
	connect := s.Connect
	if connect == nil {
		connect = dialVNC
	}
	password := keyVNCPassword.Get(state)
	keys, conn, err := connect(ctx, port, password)
	if err != nil {
		return halt(state, fmt.Errorf("connecting to the VM's VNC display on 127.0.0.1:%d: %w", port, err))
	}
	defer conn.Close()
	ui.Say("Typing the boot command over VNC...")
	if err := seq.Do(ctx, bootcommand.NewVNCDriver(keys, s.KeyInterval)); err != nil {
		return halt(state, fmt.Errorf("typing the boot command: %w", err))
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

// dialVNC connects a shared (non-exclusive) VNC client, so a person
// watching the display is not disconnected, with VNC authentication when
// the display has a password (stepRunVM always gives it one).
func dialVNC(ctx context.Context, port int, password string) (bootcommand.VNCKeyEvent, io.Closer, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, nil, err
	}
	config := &vnc.ClientConfig{Exclusive: false}
	if password != "" {
		config.Auth = []vnc.ClientAuth{&vnc.PasswordAuth{Password: password}}
	}
	client, err := vnc.Client(c, config)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return client, client, nil
}

// Package vnc types Packer boot commands at a VM's console over its VNC
// display on the host's loopback.
package vnc

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	govnc "github.com/mitchellh/go-vnc"
)

// ConnectFunc opens the key channel to the VNC display on 127.0.0.1:port
// with the display's password.
type ConnectFunc func(ctx context.Context, port int, password string) (bootcommand.VNCKeyEvent, io.Closer, error)

// Dial connects a shared (non-exclusive) VNC client, so a person
// watching the display is not disconnected, with VNC authentication when
// the display has a password.
func Dial(ctx context.Context, port int, password string) (bootcommand.VNCKeyEvent, io.Closer, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, nil, err
	}
	config := &govnc.ClientConfig{Exclusive: false}
	if password != "" {
		config.Auth = []govnc.ClientAuth{&govnc.PasswordAuth{Password: password}}
	}
	client, err := govnc.Client(c, config)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return client, client, nil
}

// Open connects with connect (Dial when nil) and returns the SDK's VNC
// boot-command driver on the connection, which types the SDK's
// boot-command syntax (<enter>, <f10>, <wait5>, <leftCtrlOn>...)
// keyInterval apart; the caller closes the connection.
func Open(ctx context.Context, port int, password string, keyInterval time.Duration, connect ConnectFunc) (bootcommand.BCDriver, io.Closer, error) {
	if connect == nil {
		connect = Dial
	}
	keys, conn, err := connect(ctx, port, password)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to the VM's VNC display on 127.0.0.1:%d: %w", port, err)
	}
	return bootcommand.NewVNCDriver(keys, keyInterval), conn, nil
}

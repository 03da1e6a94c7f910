// Package portlock hands a port reserved through the SDK over to the process
// that binds it, keeping the reservation until its Close.
package portlock

import (
	stdnet "net"
	"sync"

	"github.com/hashicorp/packer-plugin-sdk/net"
)

// HandOver closes the socket of a port reserved with the SDK's
// ListenRangeConfig, so that QEMU can bind the port, while the SDK's lock
// file ($PACKER_CACHE_DIR/port/<n>) keeps other builds off it until the
// reservation's own Close. The SDK's Close closes the socket again and
// stops at the error that second close returns, before it removes the
// lock file: the socket is replaced by one whose further closes succeed,
// so the reservation's Close unlocks and removes the file.
func HandOver(l *net.Listener) error {
	closed := &closedOnce{Listener: l.Listener}
	l.Listener = closed
	return closed.Close()
}

// closedOnce closes its listener the first time only.
type closedOnce struct {
	stdnet.Listener
	once sync.Once
	err  error
}

func (c *closedOnce) Close() error {
	c.once.Do(func() { c.err = c.Listener.Close() })
	return c.err
}

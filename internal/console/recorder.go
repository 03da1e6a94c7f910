package console

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

// Recorder holds the one connection to a VM's serial console socket for
// the whole run: it writes everything the guest prints to the serial log,
// and carries the keys typed into the console.
//
// Why the plugin records the log itself rather than through QEMU's
// chardev logfile option: with a client connected, QEMU's UART gives up on
// a byte after a few writes the socket did not take at once and moves on,
// and the logfile then shows bytes lost or twice (seen with QEMU 7.2: GRUB's
// "builder" logged as "buildeer"). One reader that never stops reading
// keeps the socket drained, so the guest's output is neither lost nor
// doubled, and the log is exactly what the guest wrote.
type Recorder struct {
	conn net.Conn
	log  *os.File
	done chan struct{}

	mu  sync.Mutex
	err error
}

// Record starts copying conn's output to the log at logPath, truncated
// (the log is this run's console only) and readable by its owner only.
func Record(conn net.Conn, logPath string) (*Recorder, error) {
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the serial log: %w", err)
	}
	// The guest echoes what is typed, a boot command's secrets included.
	if err := log.Chmod(0o600); err != nil {
		log.Close()
		return nil, fmt.Errorf("creating the serial log: %w", err)
	}
	r := &Recorder{conn: conn, log: log, done: make(chan struct{})}
	go r.copy()
	return r, nil
}

func (r *Recorder) copy() {
	defer close(r.done)
	_, err := io.Copy(r.log, r.conn)
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// Write types p into the console: QEMU hands the bytes to the guest's UART
// as fast as the guest reads them.
func (r *Recorder) Write(p []byte) (int, error) {
	return r.conn.Write(p)
}

// Close ends the connection once the VM has stopped (closing it earlier
// drops keys QEMU has not yet handed to the guest) and closes the log. It
// returns why recording stopped early, if it did.
func (r *Recorder) Close() error {
	closeErr := r.conn.Close()
	<-r.done
	if err := r.log.Close(); err != nil {
		return fmt.Errorf("writing the serial log: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return fmt.Errorf("recording the serial console: %w", r.err)
	}
	if closeErr != nil && !errors.Is(closeErr, net.ErrClosed) {
		return closeErr
	}
	return nil
}

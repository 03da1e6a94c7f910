package qemu

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Swtpm is a software TPM 2.0 (swtpm) for one VM: its state (the TPM's
// persistent memory) in a directory of the build, its control socket
// where QEMU connects (tpm_socket). It ends by itself when QEMU
// disconnects (--terminate); Stop ends it in any case, and the kernel
// kills it should the plugin die.
type Swtpm struct {
	cmd    *exec.Cmd
	socket string
	stderr bytes.Buffer
	proc   *process
}

// NewSwtpm prepares binary to keep its state in stateDir (absolute, so
// that swtpm's command line names the build it belongs to) and to listen
// on socket.
func NewSwtpm(binary, stateDir, socket string) *Swtpm {
	t := &Swtpm{socket: socket, cmd: exec.Command(binary, "socket", "--tpm2",
		"--tpmstate", "dir="+stateDir,
		"--ctrl", "type=unixio,path="+socket,
		"--log", "file="+filepath.Join(stateDir, "swtpm.log"),
		"--terminate")}
	t.cmd.Stdout, t.cmd.Stderr = &t.stderr, &t.stderr
	return t
}

// Args is swtpm's command line, its binary first.
func (t *Swtpm) Args() []string { return t.cmd.Args }

// Pid is the process id of a started swtpm (0 before Start).
func (t *Swtpm) Pid() int {
	if t.proc == nil {
		return 0
	}
	return t.cmd.Process.Pid
}

// Start starts swtpm and waits up to readyTimeout for its socket.
func (t *Swtpm) Start(readyTimeout time.Duration) error {
	proc, err := startProcess(t.cmd, nil)
	if err != nil {
		return fmt.Errorf("starting swtpm: %w", err)
	}
	t.proc = proc
	err = proc.waitForSocket(readyTimeout, 50*time.Millisecond, func() error {
		_, err := os.Stat(t.socket)
		return err
	})
	switch {
	case errors.Is(err, errExitedAtStart):
		return fmt.Errorf("swtpm exited at start: %s", strings.TrimSpace(t.stderr.String()))
	case err != nil:
		return fmt.Errorf("swtpm did not open its socket %s within %s", t.socket, readyTimeout)
	}
	return nil
}

// Stop ends swtpm (QEMU, stopped before, has usually ended it already):
// a SIGTERM, then a kill after 3 seconds. A swtpm never started needs
// nothing.
func (t *Swtpm) Stop() error {
	if t.proc == nil {
		return nil
	}
	select {
	case <-t.proc.exited:
		return nil
	default:
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.proc.exited:
		return nil
	case <-time.After(3 * time.Second):
	}
	if err := t.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-t.proc.exited
	return nil
}

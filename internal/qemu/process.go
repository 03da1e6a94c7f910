package qemu

import (
	"errors"
	"os/exec"
	"time"
)

// process is a child the plugin started and reaps in the background.
type process struct {
	cmd *exec.Cmd
	// exited is closed once the process has ended; err is then why.
	exited chan struct{}
	err    error
}

// errExitedAtStart is waitForSocket's answer when the process ended
// before its socket was ready.
var errExitedAtStart = errors.New("exited at start")

// startProcess starts cmd so that it never outlives the plugin, whatever
// ends the plugin. explain, when not nil, rewrites the exit error once the
// process has ended (QEMU adds its stderr to it).
func startProcess(cmd *exec.Cmd, explain func(error) error) (*process, error) {
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		if explain != nil {
			err = explain(err)
		}
		p.err = err
		close(p.exited)
	}()
	return p, nil
}

// waitForSocket polls ready, which looks for or connects to the socket
// the process opens, every interval until it succeeds (nil), the process
// ends (errExitedAtStart) or timeout passes (ready's last error).
func (p *process) waitForSocket(timeout, interval time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return errExitedAtStart
		case <-time.After(interval):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

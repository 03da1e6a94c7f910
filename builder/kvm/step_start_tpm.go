package kvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepStartTPM starts a software TPM 2.0 (swtpm) for the VM when Enabled:
// its state (the TPM's persistent memory) in the work directory, its
// control socket in a short temporary directory (a unix socket path must
// stay under 108 bytes). swtpm ends by itself when QEMU disconnects
// (--terminate); Cleanup stops it in any case and removes the socket, and
// the kernel kills it should the plugin die.
//
// It reads ui and work_dir, and writes tpm_socket.
type stepStartTPM struct {
	Enabled bool
	Binary  string
	// ReadyTimeout bounds the wait for the socket (5s if 0).
	ReadyTimeout time.Duration

	cmd       *exec.Cmd
	exited    chan struct{}
	socketDir string
}

func (s *stepStartTPM) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if !s.Enabled {
		return multistep.ActionContinue
	}
	ui := keyUI.Get(state)
	binary, err := exec.LookPath(s.Binary)
	if err != nil {
		return halt(state, fmt.Errorf("tpm = true needs swtpm, the software TPM: %q was not found; install the Debian/Ubuntu package swtpm (apt-get install swtpm; Fedora: swtpm) or set swtpm_binary", s.Binary))
	}
	// Absolute: swtpm's command line then names the build it belongs to.
	stateDir, err := filepath.Abs(filepath.Join(keyWorkDir.Get(state), "tpm"))
	if err != nil {
		return halt(state, err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return halt(state, err)
	}
	s.socketDir, err = os.MkdirTemp("", "packer-kvm-tpm-")
	if err != nil {
		return halt(state, err)
	}
	socket := filepath.Join(s.socketDir, "swtpm.sock")
	if err := s.start(binary, stateDir, socket); err != nil {
		return halt(state, err)
	}
	ui.Say("Started a software TPM 2.0 (swtpm)")
	keyTPMSocket.Put(state, socket)
	return multistep.ActionContinue
}

func (s *stepStartTPM) start(binary, stateDir, socket string) error {
	var stderr bytes.Buffer
	s.cmd = exec.Command(binary, "socket", "--tpm2",
		"--tpmstate", "dir="+stateDir,
		"--ctrl", "type=unixio,path="+socket,
		"--log", "file="+filepath.Join(stateDir, "swtpm.log"),
		"--terminate")
	s.cmd.Stdout, s.cmd.Stderr = &stderr, &stderr
	// Like QEMU: never outlive the plugin, whatever ends it.
	s.cmd.SysProcAttr = dieWithParent()
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return fmt.Errorf("starting swtpm: %w", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()

	timeout := s.ReadyTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(socket); err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("swtpm exited at start: %s", strings.TrimSpace(stderr.String()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("swtpm did not open its socket %s within %s", socket, timeout)
		}
	}
}

// Cleanup stops swtpm (QEMU, stopped before, has usually ended it already)
// and removes its socket directory.
func (s *stepStartTPM) Cleanup(state multistep.StateBag) {
	if s.cmd != nil {
		if err := s.stop(); err != nil {
			keyUI.Get(state).Error(fmt.Sprintf("stopping swtpm: %s", err))
		}
		s.cmd = nil
	}
	if s.socketDir != "" {
		os.RemoveAll(s.socketDir)
		s.socketDir = ""
	}
}

func (s *stepStartTPM) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(3 * time.Second):
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-s.exited
	return nil
}

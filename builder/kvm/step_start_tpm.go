package kvm

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
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

	tpm       *qemu.Swtpm
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
	s.tpm = qemu.NewSwtpm(binary, stateDir, socket)
	if err := s.tpm.Start(cmp.Or(s.ReadyTimeout, 5*time.Second)); err != nil {
		return halt(state, err)
	}
	ui.Say("Started a software TPM 2.0 (swtpm)")
	keyTPMSocket.Put(state, socket)
	return multistep.ActionContinue
}

// Cleanup stops swtpm (QEMU, stopped before, has usually ended it already)
// and removes its socket directory.
func (s *stepStartTPM) Cleanup(state multistep.StateBag) {
	if s.tpm != nil {
		if err := s.tpm.Stop(); err != nil {
			keyUI.Get(state).Error(fmt.Sprintf("stopping swtpm: %s", err))
		}
		s.tpm = nil
	}
	if s.socketDir != "" {
		os.RemoveAll(s.socketDir)
		s.socketDir = ""
	}
}

package kvm

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// fakePort listens on 127.0.0.1 and answers each connection with banner
// (nothing, when banner is empty: like QEMU's user network before sshd).
func fakePort(t *testing.T, banner string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if banner != "" {
				c.Write([]byte(banner))
			}
			go func() { time.Sleep(2 * time.Second); c.Close() }()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func sshWaitState(t *testing.T, port int) (*multistep.BasicStateBag, *VMMock) {
	state, _ := testState(t)
	vm := NewVMMock()
	state.Put("vm", vm)
	state.Put("ssh_host_port", port)
	log := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(log, []byte("SeaBIOS\nBooting from Hard Disk...\n[    1.0] Kernel panic - not syncing: VFS\n"), 0o644)
	state.Put("serial_log", log)
	return state, vm
}

func TestStepWaitForSSH_continuesOnceSSHDAnswers(t *testing.T) {
	state, _ := sshWaitState(t, fakePort(t, "SSH-2.0-OpenSSH_9.2\r\n"))
	step := &stepWaitForSSH{Timeout: 5 * time.Second, PollInterval: 50 * time.Millisecond}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
}

func TestStepWaitForSSH_anAcceptedButSilentPortIsNotSSH(t *testing.T) {
	state, _ := sshWaitState(t, fakePort(t, ""))
	step := &stepWaitForSSH{Timeout: 600 * time.Millisecond, PollInterval: 50 * time.Millisecond, BannerTimeout: 100 * time.Millisecond}
	action := step.Run(context.Background(), state)
	err := stateErr(state)
	if action != multistep.ActionHalt || !strings.Contains(err.Error(), "ssh_timeout") {
		t.Fatalf("want a timeout, got %v", err)
	}
	if !strings.Contains(err.Error(), "Kernel panic - not syncing") {
		t.Fatalf("the timeout error lacks the serial log tail: %v", err)
	}
}

func TestStepWaitForSSH_failsAtOnceWhenQEMUExits(t *testing.T) {
	state, vm := sshWaitState(t, fakePort(t, ""))
	vm.Exit(errors.New("exit status 1: failed to set MSR 0x10a"))
	start := time.Now()
	(&stepWaitForSSH{Timeout: time.Minute}).Run(context.Background(), state)
	err := stateErr(state)
	if err == nil || !strings.Contains(err.Error(), "MSR 0x10a") || !strings.Contains(err.Error(), "Booting from Hard Disk") {
		t.Fatalf("want QEMU's reason and the serial tail, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("took too long to notice QEMU had exited")
	}
}

func TestStepWaitForSSH_failsWhenTheGuestStopsOnAnInternalError(t *testing.T) {
	state, vm := sshWaitState(t, fakePort(t, ""))
	vm.SetStatus("internal-error")
	(&stepWaitForSSH{Timeout: time.Minute, PollInterval: 20 * time.Millisecond}).Run(context.Background(), state)
	if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Fatalf("want an internal-error failure, got %v", err)
	}
}

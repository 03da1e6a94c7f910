package kvm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kvmforge/packer-plugin-kvm/internal/sshprobe/sshprobetest"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

// fakePort is a forwarded SSH port answering with banner.
func fakePort(t *testing.T, banner string) int {
	return sshprobetest.Listen(t, banner, 2*time.Second)
}

func sshWaitState(t *testing.T, port int) (*multistep.BasicStateBag, *qemumock.VMMock) {
	state, _ := testState(t)
	vm := qemumock.NewVMMock()
	keyVM.Put(state, vm)
	keySSHHostPort.Put(state, port)
	log := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(log, []byte("SeaBIOS\nBooting from Hard Disk...\n[    1.0] Kernel panic - not syncing: VFS\n"), 0o644)
	keySerialLog.Put(state, log)
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

// A guest whose console stays silent (an unbootable disk: SeaBIOS prints
// nothing on the serial port) fails at boot_progress_timeout, long before
// ssh_timeout, saying why.
func TestStepWaitForSSH_aSilentConsoleFailsAtTheProgressTimeout(t *testing.T) {
	state, _ := sshWaitState(t, fakePort(t, ""))
	os.WriteFile(keySerialLog.Get(state), nil, 0o644)
	step := &stepWaitForSSH{Timeout: time.Minute, ProgressTimeout: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond, BannerTimeout: 10 * time.Millisecond}
	start := time.Now()
	action := step.Run(context.Background(), state)
	err := stateErr(state)
	if action != multistep.ActionHalt || err == nil || !strings.Contains(err.Error(), "printed nothing on its serial console") || !strings.Contains(err.Error(), "boot_progress_timeout") {
		t.Fatalf("want a boot progress failure, got %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("waited for ssh_timeout instead")
	}
}

// A console that keeps printing is a guest getting somewhere: only silence
// counts, not the time since boot.
func TestStepWaitForSSH_aConsoleThatKeepsPrintingIsNotStuck(t *testing.T) {
	port := fakePort(t, "")
	state, _ := sshWaitState(t, port)
	log := keySerialLog.Get(state)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0o644)
		defer f.Close()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				f.WriteString("[  OK  ] Started something.\n")
			}
		}
	}()
	step := &stepWaitForSSH{Timeout: time.Second, ProgressTimeout: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond, BannerTimeout: 10 * time.Millisecond}
	step.Run(context.Background(), state)
	if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "ssh_timeout") {
		t.Fatalf("a printing guest must reach ssh_timeout, got %v", err)
	}
}

func TestStepWaitForSSH_aCancelledContextEndsTheWait(t *testing.T) {
	state, _ := sshWaitState(t, fakePort(t, ""))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if action := (&stepWaitForSSH{Timeout: time.Minute, PollInterval: 20 * time.Millisecond}).Run(ctx, state); action != multistep.ActionHalt {
		t.Fatal("kept waiting after the build's context ended")
	}
}

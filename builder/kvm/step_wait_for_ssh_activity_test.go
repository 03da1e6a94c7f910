package kvm

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu/qemumock"
)

// blockstats is a query-blockstats reply of an installer's VM: its disk
// and its ISO, with a timing field that changes on its own.
func blockstats(written int64, idleNs int64) string {
	return fmt.Sprintf(`[{"device":"","node-name":"disk0","stats":{"rd_bytes":4096,"wr_bytes":%d,"rd_operations":1,"wr_operations":%d,"idle_time_ns":%d}},
{"device":"","node-name":"installer","stats":{"rd_bytes":1048576,"wr_bytes":0,"rd_operations":40,"wr_operations":0,"idle_time_ns":%d}}]`, written, written/512, idleNs, idleNs)
}

// silentInstallerState is the state of an installer build whose installer
// prints nothing on the serial console (Debian's netinst: no serial
// console in its boot menu, SeaBIOS silent there) while it installs.
func silentInstallerState(t *testing.T) (*multistep.BasicStateBag, *qemumock.VMMock) {
	t.Helper()
	state, vm := sshWaitState(t, fakePort(t, ""))
	os.WriteFile(keySerialLog.Get(state), nil, 0o644)
	keyWorkDir.Put(state, t.TempDir())
	vm.SetCommandReply("query-blockstats", blockstats(0, 1))
	return state, vm
}

// keepChanging calls change every interval until the test ends.
func keepChanging(t *testing.T, interval time.Duration, change func(n int64)) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for n := int64(1); ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(interval):
				change(n)
			}
		}
	}()
}

// sshdAfter makes sshd answer on a port after d, as the installed system
// does once the installer has rebooted into it.
func sshdAfter(t *testing.T, d time.Duration) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	start := time.Now()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if time.Since(start) > d {
				c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			}
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// testProgressTimeout is the boot_progress_timeout of the tests: long
// enough for a busy machine's scheduling stalls (builds share the test
// host's CPUs), short enough for a quick test.
const testProgressTimeout = 1500 * time.Millisecond

func installerWaitStep() *stepWaitForSSH {
	return &stepWaitForSSH{Timeout: 30 * time.Second, ProgressTimeout: testProgressTimeout, WatchActivity: true,
		ActivityInterval: 20 * time.Millisecond, PollInterval: 10 * time.Millisecond, BannerTimeout: 10 * time.Millisecond}
}

// An installer that writes its disk for many times boot_progress_timeout
// while its serial console stays empty is installing, not stuck: the
// build waits until its SSH answers. (It used to fail at
// boot_progress_timeout with "printed nothing on its serial console".)
func TestStepWaitForSSH_aSilentInstallerWritingItsDiskIsNotStuck(t *testing.T) {
	t.Parallel()
	state, vm := silentInstallerState(t)
	keySSHHostPort.Put(state, sshdAfter(t, 3*testProgressTimeout))
	keepChanging(t, 50*time.Millisecond, func(n int64) { vm.SetCommandReply("query-blockstats", blockstats(n*65536, n)) })
	if action := installerWaitStep().Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("a silent installer writing its disk was stopped: %v", stateErr(state))
	}
}

// An installer whose screen changes (a progress bar) is not stuck either,
// even when it does not touch its disks for a while.
func TestStepWaitForSSH_aSilentInstallerWhoseScreenChangesIsNotStuck(t *testing.T) {
	t.Parallel()
	state, vm := silentInstallerState(t)
	vm.SetScreen([]byte("P6 640 480 255 progress 0%"))
	keySSHHostPort.Put(state, sshdAfter(t, 3*testProgressTimeout))
	keepChanging(t, 50*time.Millisecond, func(n int64) {
		vm.SetScreen([]byte(fmt.Sprintf("P6 640 480 255 progress %d%%", n)))
		vm.SetCommandReply("query-blockstats", blockstats(0, n)) // only the idle time moves
	})
	if action := installerWaitStep().Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("a silent installer with a changing screen was stopped: %v", stateErr(state))
	}
	if _, err := os.Stat(screenDumpPath(state)); !os.IsNotExist(err) {
		t.Fatalf("the screendump was left in the work directory: %v", err)
	}
}

// An installer whose screen, disks and console all stay still (waiting
// at a menu for keys the boot_command did not type) fails at
// boot_progress_timeout, saying what was watched.
func TestStepWaitForSSH_aStillInstallerFailsAtTheProgressTimeout(t *testing.T) {
	t.Parallel()
	state, vm := silentInstallerState(t)
	vm.SetScreen([]byte("P6 640 480 255 boot menu"))
	keepChanging(t, 50*time.Millisecond, func(n int64) {
		// Only the idle time moves, and the text cursor blinks.
		vm.SetCommandReply("query-blockstats", blockstats(0, n))
		vm.SetScreen([]byte(fmt.Sprintf("P6 640 480 255 boot menu, cursor %v", n%2 == 0)))
	})
	start := time.Now()
	action := installerWaitStep().Run(context.Background(), state)
	err := stateErr(state)
	if action != multistep.ActionHalt || err == nil {
		t.Fatalf("a still installer was not stopped: %v", err)
	}
	for _, want := range []string{"printed nothing on its serial console", "its screen did not change", "neither read nor wrote its disks", "boot_progress_timeout", "boot_command"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("waited for ssh_timeout instead")
	}
}

// A cloud-image build keeps the serial rule alone: its image prints there
// when it boots, and disk reads are no sign of a boot (firmware retrying a
// disk it cannot boot reads it over and over).
func TestStepWaitForSSH_aCloudImageBuildWatchesTheSerialConsoleOnly(t *testing.T) {
	t.Parallel()
	state, vm := silentInstallerState(t)
	keepChanging(t, 50*time.Millisecond, func(n int64) { vm.SetCommandReply("query-blockstats", blockstats(n*65536, n)) })
	step := installerWaitStep()
	step.WatchActivity = false
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "it is not booting") {
		t.Fatalf("want the serial console rule, got %v", stateErr(state))
	}
}

// Installer builds watch the activity; cloud-image builds do not.
func TestInstallerSteps_watchTheInstallersActivity(t *testing.T) {
	for _, raw := range []map[string]interface{}{nil, isoConfig(t)} {
		var b Builder
		if _, _, err := b.Prepare(with(minimalConfig(), raw)); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, step := range b.steps(nil, nil, nil, nil) {
			if s, ok := step.(*stepWaitForSSH); ok {
				found = true
				if s.WatchActivity != b.config.isISOBuild() {
					t.Errorf("iso build %v: WatchActivity %v", b.config.isISOBuild(), s.WatchActivity)
				}
			}
		}
		if !found {
			t.Fatal("no stepWaitForSSH")
		}
	}
}

package kvm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// keyRecorder is a VNC connection that records the keys pressed (the X11
// keysyms of key-down events; printable ASCII keysyms equal their byte).
type keyRecorder struct {
	mu     sync.Mutex
	down   []uint32
	closed bool
}

func (k *keyRecorder) KeyEvent(key uint32, down bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if down {
		k.down = append(k.down, key)
	}
	return nil
}

func (k *keyRecorder) Close() error { k.closed = true; return nil }

const xkShiftL = 0xffe1

func (k *keyRecorder) typed() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var b strings.Builder
	for _, key := range k.down {
		if key == xkShiftL {
			continue // the VNC driver holds shift for ':', '_' and capitals
		}
		if key >= 0x20 && key < 0x7f {
			b.WriteByte(byte(key))
		} else {
			b.WriteString("<key>")
		}
	}
	return b.String()
}

func bootCommandState(t *testing.T) (multistep.StateBag, *keyRecorder, *stepTypeBootCommand) {
	state, _ := testState(t)
	keyVNCPort.Put(state, 5901)
	keyVNCPassword.Put(state, "s3cretpw")
	keyHTTPPort.Put(state, 8123)
	keys := &keyRecorder{}
	step := &stepTypeBootCommand{
		Command:     "e<down><end> url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/{{ .Name }}.sh key={{ .SSHPublicKey }}<f10>",
		KeyInterval: time.Microsecond,
		Name:        "debian",
		PublicKey:   func() string { return "ssh-ed25519 AAAA packer_1\n" },
		Connect: func(ctx context.Context, port int, password string) (bootcommand.VNCKeyEvent, io.Closer, error) {
			if port != 5901 || password != "s3cretpw" {
				t.Errorf("connected to VNC port %d with password %q, want the VM's 5901 with s3cretpw", port, password)
			}
			return keys, keys, nil
		},
	}
	return state, keys, step
}

func TestStepTypeBootCommand_typesTheRenderedCommand(t *testing.T) {
	state, keys, step := bootCommandState(t)
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	want := "e<key><key> url=http://10.0.2.2:8123/debian.sh key=ssh-ed25519 AAAA packer_1<key>"
	if got := keys.typed(); got != want {
		t.Fatalf("typed %q\nwant  %q", got, want)
	}
	if !keys.closed {
		t.Fatal("the VNC connection was left open")
	}
}

func TestStepTypeBootCommand_boot_waitEndsWithTheBuild(t *testing.T) {
	state, keys, step := bootCommandState(t)
	step.BootWait = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if action := step.Run(ctx, state); action != multistep.ActionHalt {
		t.Fatal("a cancelled build kept waiting boot_wait")
	}
	if len(keys.down) != 0 {
		t.Fatal("keys were typed after the build was cancelled")
	}
}

func TestStepTypeBootCommand_failsWithoutVNC(t *testing.T) {
	state, _, step := bootCommandState(t)
	state.Remove(string(keyVNCPort))
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "VNC") {
		t.Fatalf("want a VNC error, got %v", stateErr(state))
	}
}

func TestStepTypeBootCommand_reportsAnUnreachableDisplay(t *testing.T) {
	state, _, step := bootCommandState(t)
	step.Connect = func(context.Context, int, string) (bootcommand.VNCKeyEvent, io.Closer, error) {
		return nil, nil, errors.New("connection refused")
	}
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt || !strings.Contains(stateErr(state).Error(), "127.0.0.1:5901") {
		t.Fatalf("want an error naming the VNC address, got %v", stateErr(state))
	}
}

// appendSerial writes text to the serial log at path after delay, as the
// guest's firmware and boot loader would.
func appendSerial(path string, delay time.Duration, text string) {
	time.AfterFunc(delay, func() {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return
		}
		f.WriteString(text)
		f.Close()
	})
}

// serialBootState is bootCommandState with a serial log in the work
// directory, which the test writes over time.
func serialBootState(t *testing.T, command string) (multistep.StateBag, *keyRecorder, *stepTypeBootCommand, string) {
	state, keys, step := bootCommandState(t)
	log := filepath.Join(t.TempDir(), workDirPrefix+"1", "serial.log")
	os.MkdirAll(filepath.Dir(log), 0o700)
	keySerialLog.Put(state, log)
	step.Command, step.SerialTimeout, step.PollInterval = command, time.Second, 5*time.Millisecond
	return state, keys, step, log
}

// Each part of the boot command is typed only once the serial console has
// printed what the <waitSerial> before it waits for; the two prompts
// printed in one burst are matched one after the other.
func TestStepTypeBootCommand_waitsForTheSerialConsole(t *testing.T) {
	state, keys, step, log := serialBootState(t, "<waitSerial 'Install'>e<waitSerial 'boot: '>a<waitSerial 'boot: '>b<enter>")
	typedBefore := make(chan string, 1)
	appendSerial(log, 20*time.Millisecond, "\x1b[2J\x1b[1;1HGRUB\x1b[3;2H*Inst")
	time.AfterFunc(60*time.Millisecond, func() { typedBefore <- keys.typed() })
	appendSerial(log, 80*time.Millisecond, "all Debian\r\n")
	appendSerial(log, 120*time.Millisecond, "boot: boot: ")
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if got := <-typedBefore; got != "" {
		t.Fatalf("typed %q before the menu was printed", got)
	}
	if got := keys.typed(); got != "eab<key>" {
		t.Fatalf("typed %q", got)
	}
}

func TestStepTypeBootCommand_aWaitTimesOutWithTheConsolesTail(t *testing.T) {
	state, keys, step, log := serialBootState(t, "e<waitSerial 'login:' 50ms>x")
	os.WriteFile(log, []byte("Booting the kernel\r\n\x1b[1mKernel panic\x1b[0m\r\n"), 0o600)
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("the build went on without a match")
	}
	err := stateErr(state).Error()
	for _, want := range []string{"boot_command: <waitSerial 'login:' 50ms> saw no match on the serial console within 50ms", "Kernel panic", "serial_log_file"} {
		if !strings.Contains(err, want) {
			t.Errorf("the error does not say %q:\n%s", want, err)
		}
	}
	if keys.typed() != "e" {
		t.Fatalf("typed %q past the failed wait", keys.typed())
	}
}

func TestStepTypeBootCommand_aWaitEndsWithTheBuild(t *testing.T) {
	state, _, step, _ := serialBootState(t, "<waitSerial 'never'>x")
	step.SerialTimeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	done := make(chan multistep.StepAction)
	go func() { done <- step.Run(ctx, state) }()
	select {
	case action := <-done:
		if action != multistep.ActionHalt {
			t.Fatal("went on after cancel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait did not end with the build")
	}
}

// Typed over serial, the keys are the bytes a terminal sends, written to
// the serial console stepRunVM holds; no VNC display is needed, and the
// console stays open when the step ends (QEMU would drop untaken keys).
func TestStepTypeBootCommand_typesOnTheSerialConsole(t *testing.T) {
	state, _, step, log := serialBootState(t, "<waitSerial 'grub>'>ls<enter><down><leftCtrlOn>x<leftCtrlOff>")
	state.Remove(string(keyVNCPort))
	step.SerialInput = true
	step.Connect = nil
	serial := &closeRecorder{}
	keySerialConsole.Put(state, io.Writer(serial))
	appendSerial(log, 20*time.Millisecond, "grub> ")
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	step.Cleanup(state)
	if got := serial.String(); got != "ls\r\x1b[B\x18" {
		t.Fatalf("the serial console received %q", got)
	}
	if serial.closed {
		t.Fatal("the step closed the serial console")
	}
}

// Without the console stepRunVM connects, typing over serial fails
// before any key.
func TestStepTypeBootCommand_serialWithoutConsole(t *testing.T) {
	state, _, step, _ := serialBootState(t, "ls<enter>")
	step.SerialInput = true
	if action := step.Run(context.Background(), state); action != multistep.ActionHalt {
		t.Fatal("typed with no serial console")
	}
	if err := stateErr(state); err == nil || !strings.Contains(err.Error(), "serial console") {
		t.Fatalf("got %v, want an error naming the serial console", err)
	}
}

// closeRecorder is a serial console that records what is typed and
// whether anyone closed it.
type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

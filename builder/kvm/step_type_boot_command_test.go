package kvm

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// keyRecorder is a VNC connection that records the keys pressed (the X11
// keysyms of key-down events; printable ASCII keysyms equal their byte).
type keyRecorder struct {
	down   []uint32
	closed bool
}

func (k *keyRecorder) KeyEvent(key uint32, down bool) error {
	if down {
		k.down = append(k.down, key)
	}
	return nil
}

func (k *keyRecorder) Close() error { k.closed = true; return nil }

const xkShiftL = 0xffe1

func (k *keyRecorder) typed() string {
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

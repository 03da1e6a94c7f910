package serialkeys

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
)

// typeCommand runs a boot command through the SDK's parser and the driver
// and returns the bytes written.
func typeCommand(t *testing.T, command string) (string, error) {
	t.Helper()
	seq, err := bootcommand.GenerateExpressionSequence(command)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = seq.Do(context.Background(), New(context.Background(), &out, 1))
	return out.String(), err
}

func TestDriver_typesWhatATerminalSends(t *testing.T) {
	for command, want := range map[string]string{
		"ls -l<enter>":                          "ls -l\r",
		"Ab<tab><bs><esc><spacebar>":            "Ab\t\x7f\x1b ",
		"<up><down><right><left>":               "\x1b[A\x1b[B\x1b[C\x1b[D",
		"<home><end><insert><del>":              "\x1b[H\x1b[F\x1b[2~\x1b[3~",
		"<pageUp><pageDown>":                    "\x1b[5~\x1b[6~",
		"<f1><f5><f6><f10><f12>":                "\x1b[[A\x1b[[E\x1b[17~\x1b[21~\x1b[24~",
		"<leftCtrlOn>x<leftCtrlOff>x":           "\x18x",
		"<rightCtrlOn>c[<rightCtrlOff>":         "\x03\x1b",
		"<leftAltOn>f<f2><leftAltOff>f":         "\x1bf\x1b\x1b[[Bf",
		"<leftShiftOn><tab><leftShiftOff><tab>": "\x1b[Z\t",
		"<return><wait1ms>é":                    "\ré",
	} {
		got, err := typeCommand(t, command)
		if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		if got != want {
			t.Errorf("%s: typed %q, want %q", command, got, want)
		}
	}
}

func TestDriver_refusesKeysATerminalCannotSend(t *testing.T) {
	for command, want := range map[string]string{
		"<leftSuper>":                "<leftsuper> has no byte sequence on a serial terminal",
		"<menu>":                     "<menu> has no byte sequence",
		"<leftCtrlOn>1<leftCtrlOff>": "'1' with Ctrl held has no control code",
	} {
		_, err := typeCommand(t, command)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", command, err, want)
		}
	}
}

func TestDriver_stopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := New(ctx, &out, 0).SendKey('a', bootcommand.KeyPress); err == nil || out.Len() != 0 {
		t.Fatalf("typed %q after cancel: %v", out.String(), err)
	}
}

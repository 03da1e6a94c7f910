// Package serialkeys types Packer boot commands on a serial console: each
// key becomes the bytes a VT100/xterm-style terminal sends for it, written
// to the VM's serial port (a bootcommand.BCDriver).
//
// A serial line carries characters, not key presses: a key's "on" sends
// it, its "off" sends nothing, and modifiers change the keys sent while
// they are held (Ctrl makes control codes, Alt an ESC prefix).
package serialkeys

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
)

// DefaultInterval is the pause after each key when the build sets none.
// QEMU's UART holds what the guest has not read yet, so keys are not lost
// when they come fast; the pause only keeps an escape sequence's bytes
// apart from the next key's.
const DefaultInterval = 10 * time.Millisecond

// specials are the bytes of the SDK's special keys (its names, lower
// case). Home and End are xterm's ESC [ H and ESC [ F, which GRUB's serial
// terminal reads (not the VT220's ESC [ 4~ for End). F1-F5 are the Linux
// console's (ESC [ [ A-E), which GRUB's serial terminal reads for all
// five, unlike xterm's ESC O R, ESC O S and ESC [ 15~; F6-F12 are what
// xterm and the Linux console both send.
var specials = map[string]string{
	"enter": "\r", "return": "\r",
	"tab":      "\t",
	"bs":       "\x7f",
	"esc":      "\x1b",
	"spacebar": " ",
	"up":       "\x1b[A", "down": "\x1b[B", "right": "\x1b[C", "left": "\x1b[D",
	"home": "\x1b[H", "insert": "\x1b[2~", "del": "\x1b[3~", "end": "\x1b[F",
	"pageup": "\x1b[5~", "pagedown": "\x1b[6~",
	"f1": "\x1b[[A", "f2": "\x1b[[B", "f3": "\x1b[[C", "f4": "\x1b[[D", "f5": "\x1b[[E",
	"f6": "\x1b[17~", "f7": "\x1b[18~", "f8": "\x1b[19~", "f9": "\x1b[20~", "f10": "\x1b[21~",
	"f11": "\x1b[23~", "f12": "\x1b[24~",
}

// Driver writes keys to a serial port, Interval apart (DefaultInterval
// when 0), and stops at ctx's end.
type Driver struct {
	w        io.Writer
	ctx      context.Context
	interval time.Duration
	ctrl     int // held Ctrl keys (left and right)
	alt      int
	shift    int
}

// New returns a driver that writes to w.
func New(ctx context.Context, w io.Writer, interval time.Duration) *Driver {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Driver{w: w, ctx: ctx, interval: interval}
}

var _ bootcommand.BCDriver = (*Driver)(nil)

// SendKey types a character: with Ctrl held, its control code; with Alt
// held, ESC first.
func (d *Driver) SendKey(key rune, action bootcommand.KeyAction) error {
	if action == bootcommand.KeyOff {
		return nil
	}
	s := string(key)
	if d.ctrl > 0 {
		code, ok := controlCode(key)
		if !ok {
			return fmt.Errorf("%q with Ctrl held has no control code on a serial terminal: only letters and @[\\]^_? do", key)
		}
		s = string(code)
	}
	return d.send(s)
}

// SendSpecial types a special key or holds or releases a modifier.
func (d *Driver) SendSpecial(special string, action bootcommand.KeyAction) error {
	switch special {
	case "leftctrl", "rightctrl":
		return d.modifier(&d.ctrl, action)
	case "leftalt", "rightalt":
		return d.modifier(&d.alt, action)
	case "leftshift", "rightshift":
		return d.modifier(&d.shift, action)
	}
	s, ok := specials[special]
	if !ok {
		return fmt.Errorf("<%s> has no byte sequence on a serial terminal: use boot_command_input = \"vnc\" to type it", special)
	}
	if action == bootcommand.KeyOff {
		return nil
	}
	if special == "tab" && d.shift > 0 {
		s = "\x1b[Z" // back tab
	}
	return d.send(s)
}

// modifier counts a modifier's presses and releases; pressing one alone
// sends nothing.
func (d *Driver) modifier(held *int, action bootcommand.KeyAction) error {
	switch action {
	case bootcommand.KeyOn:
		*held++
	case bootcommand.KeyOff:
		if *held > 0 {
			*held--
		}
	}
	return nil
}

// send writes one key's bytes (ESC first with Alt held) and waits the
// interval.
func (d *Driver) send(s string) error {
	if d.alt > 0 {
		s = "\x1b" + s
	}
	if err := d.ctx.Err(); err != nil {
		return err
	}
	if _, err := io.WriteString(d.w, s); err != nil {
		return fmt.Errorf("writing to the serial console: %w", err)
	}
	select {
	case <-time.After(d.interval):
		return nil
	case <-d.ctx.Done():
		return d.ctx.Err()
	}
}

// Flush does nothing: every key is written when typed.
func (d *Driver) Flush() error { return nil }

// controlCode is the byte Ctrl+key sends on a terminal.
func controlCode(key rune) (byte, bool) {
	switch {
	case key >= 'a' && key <= 'z':
		return byte(key - 'a' + 1), true
	case key >= '@' && key <= '_':
		return byte(key - '@'), true
	case key == '?':
		return 0x7f, true
	case key == ' ':
		return 0, true
	}
	return 0, false
}

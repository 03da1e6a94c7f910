package console

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzClean feeds guest console bytes, which the guest controls: cleaning
// must not panic, and what it returns must be valid UTF-8 without a
// control character but the newline, in lines no longer than the quote
// limit, without a run of empty lines.
func FuzzClean(f *testing.F) {
	f.Add([]byte(ovmfGrubConsole))
	f.Add([]byte("\x1b[2J\x1b[H"))
	f.Add([]byte("\x1b]0;unterminated title"))
	f.Add([]byte("\x1b"))
	f.Add([]byte("\u009b"))
	f.Add([]byte("\x1bP device control \x1b\\ after"))
	f.Add([]byte("a\r\n\n\n\nb\xff\xfe\tc"))
	f.Add([]byte(strings.Repeat("é", 500)))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := Clean(data)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		for _, r := range got {
			if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 {
				t.Fatalf("control character %U in %q", r, got)
			}
		}
		if got != "" && !strings.HasSuffix(got, "\n") {
			t.Fatalf("the last line is not ended: %q", got)
		}
		if strings.Contains(got, "\n\n\n") {
			t.Fatalf("a run of empty lines: %q", got)
		}
		for _, line := range strings.Split(got, "\n") {
			if n := utf8.RuneCountInString(line); n > maxConsoleLine+1 {
				t.Fatalf("a line of %d characters: %q", n, line)
			}
		}
	})
}

// Console output cut anywhere cleans to the same text as in one piece.
func FuzzStream(f *testing.F) {
	f.Add([]byte(grubMenu), 7)
	f.Add([]byte("é\x1b]0;t\a\x1bP\x1b\\x\x1b(B\u009b2J"), 3)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		if cut < 0 || cut > len(data) {
			return
		}
		var a, b Stream
		whole := a.Write(data)
		parts := b.Write(data[:cut]) + b.Write(data[cut:])
		if whole != parts {
			t.Fatalf("cut at %d: %q, whole %q", cut, parts, whole)
		}
	})
}

// Package console turns what a guest wrote on its serial console, for a
// terminal, into text fit for an error message, and follows the log while
// the VM writes it to wait for patterns in it (Follower).
package console

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tail formats the last lines of the serial console log at path for an
// error message. The console is what firmware, boot loaders and kernels
// write for a terminal: the lines are cleaned of terminal control sequences
// (OVMF's and GRUB's clear-screen and cursor moves would otherwise wipe the
// message off the user's terminal) and carriage-return overwrites. The
// message says where the whole log is, or, when removedWithBuild (the
// default log, in the build's work directory), that it is removed with the
// build's work directory and how to keep it.
func Tail(path string, lines int, removedWithBuild bool) string {
	if path == "" {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return "\n(the serial console printed nothing)"
	}
	text := strings.Trim(Clean(data), "\n")
	if text == "" {
		return fmt.Sprintf("\n(the serial console printed only terminal control codes; %s)", logWhere(path, removedWithBuild))
	}
	all := strings.Split(text, "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("\nLast %d lines of the serial console (%s):\n%s", len(all), logWhere(path, removedWithBuild), strings.Join(all, "\n"))
}

// logWhere says where the whole serial log can be read after the build.
// The default log lives in the build's work directory, which is removed
// when the build ends.
func logWhere(path string, removedWithBuild bool) string {
	if removedWithBuild {
		return "the whole log is removed with the build's work directory: set serial_log_file to keep it"
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "the whole log is " + path
}

// Clean turns what a program wrote for a terminal into the text a
// person would read: escape sequences (CSI such as clear-screen and cursor
// moves, OSC, character-set selections) are dropped (a cursor move to
// another row or a cleared screen ends the line), a carriage return
// makes the rest of the line overwrite its start as on a terminal, runs of
// empty lines are kept as one, and every other control character but
// newline is dropped (a tab becomes a space). Invalid UTF-8 becomes U+FFFD.
func Clean(data []byte) string {
	var out strings.Builder
	var line []rune // the current line, as a terminal would show it
	col := 0        // the cursor's column in line
	put := func(r rune) {
		if col < len(line) {
			line[col] = r
		} else {
			line = append(line, r)
		}
		col++
	}
	blank := 0 // consecutive empty lines
	endLine := func() {
		s := strings.TrimRight(string(line), " ")
		if utf8.RuneCountInString(s) > maxConsoleLine {
			s = string([]rune(s)[:maxConsoleLine]) + "…"
		}
		line, col = line[:0], 0
		if s == "" {
			blank++
			if blank > 1 {
				return
			}
		} else {
			blank = 0
		}
		out.WriteString(s)
		out.WriteByte('\n')
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		i += size
		switch {
		case r == '\x1b' || r == '\u009b' || r == '\u009d':
			n := escapeLength(data[i:], r)
			seq := data[i : i+n]
			i += n
			// A full-screen program (firmware setup, GRUB's menu) moves the
			// cursor to the next row rather than print a newline: a cursor
			// move to another row, or a cleared screen, starts a new line.
			if csi := r == '\u009b' || len(seq) > 0 && seq[0] == '['; csi && len(seq) > 0 && strings.IndexByte("HfJdEFAB", seq[len(seq)-1]) >= 0 && len(line) > 0 {
				endLine()
			}
		case r == '\n':
			endLine()
		case r == '\r':
			col = 0
		case r == '\t':
			put(' ')
		case r == utf8.RuneError && size == 1:
			put('\uFFFD')
		case unicode.IsPrint(r) || r == ' ':
			put(r)
		}
	}
	if len(line) > 0 {
		endLine()
	}
	return out.String()
}

// maxConsoleLine is the longest line quoted from the console.
const maxConsoleLine = 200

// escapeLength is how many bytes after its introducer (ESC, or the 8-bit
// CSI or OSC) an escape sequence takes.
func escapeLength(rest []byte, intro rune) int {
	kind := byte(0)
	n := 0
	switch intro {
	case '\u009b':
		kind = '['
	case '\u009d':
		kind = ']'
	default:
		if len(rest) == 0 {
			return 0
		}
		if rest[0] < 0x20 {
			return 0 // a lone ESC: the control character after it stays
		}
		kind, n = rest[0], 1
	}
	switch kind {
	case '[': // CSI: parameter and intermediate bytes, then a final byte
		for n < len(rest) {
			b := rest[n]
			if b >= 0x20 && b <= 0x3f {
				n++
				continue
			}
			if b >= 0x40 && b <= 0x7e {
				n++
			}
			break
		}
		return n
	case ']', 'P', '_', '^', 'X': // OSC and other strings: up to BEL or ST (ESC \)
		for n < len(rest) {
			if rest[n] == '\a' {
				return n + 1
			}
			if rest[n] == '\x1b' && n+1 < len(rest) && rest[n+1] == '\\' {
				return n + 2
			}
			n++
		}
		return n
	}
	// ESC, intermediate bytes (such as "(" in ESC ( B), a final byte.
	for n < len(rest) && rest[n-1] >= 0x20 && rest[n-1] <= 0x2f {
		n++
	}
	return n
}

package console

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Stream cleans console output that arrives in pieces, for matching
// patterns against: terminal control sequences are dropped as Clean drops
// them (a cursor move to another row or a cleared screen becomes a
// newline, so a menu drawn with cursor moves reads line by line), carriage
// returns and other control characters are dropped, a tab becomes a space.
// An escape sequence or a UTF-8 character cut at the end of a piece is
// kept until the next piece completes it.
type Stream struct {
	pending []byte
}

// maxPending bounds an escape sequence that never ends (an OSC string
// without its terminator): past it, the bytes are dropped.
const maxPending = 4096

// Write cleans p after what came before and returns the text.
func (s *Stream) Write(p []byte) string {
	data := append(s.pending, p...)
	s.pending = nil
	var out strings.Builder
	for i := 0; i < len(data); {
		if !utf8.FullRune(data[i:]) {
			s.keep(data[i:])
			break
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == '\x1b' || r == '\u009b' || r == '\u009d':
			n, complete := escapeSpan(data[i+size:], r)
			if !complete {
				s.keep(data[i:])
				return out.String()
			}
			seq := data[i+size : i+size+n]
			if movesRow(r, seq) {
				out.WriteByte('\n')
			}
			i += size + n
			continue
		case r == '\n':
			out.WriteByte('\n')
		case r == '\t':
			out.WriteByte(' ')
		case r == utf8.RuneError && size == 1:
			out.WriteRune('\uFFFD')
		case unicode.IsPrint(r) || r == ' ':
			out.WriteRune(r)
		}
		i += size
	}
	return out.String()
}

// keep holds rest for the next Write, unless it grew past maxPending.
func (s *Stream) keep(rest []byte) {
	if len(rest) <= maxPending {
		s.pending = bytes.Clone(rest)
	}
}

// movesRow reports whether a CSI sequence moves the cursor to another row
// or clears the screen (as Clean ends a line on them).
func movesRow(intro rune, seq []byte) bool {
	csi := intro == '\u009b' || len(seq) > 0 && seq[0] == '['
	return csi && len(seq) > 0 && strings.IndexByte("HfJdEFAB", seq[len(seq)-1]) >= 0
}

// escapeSpan is escapeLength, and whether the sequence is complete in rest
// (false when rest ends inside it).
func escapeSpan(rest []byte, intro rune) (int, bool) {
	n := escapeLength(rest, intro)
	kind := byte('[')
	switch intro {
	case '\u009d':
		kind = ']'
	case '\x1b':
		if len(rest) == 0 {
			return 0, false // the byte after ESC is still to come
		}
		kind = rest[0]
	}
	switch {
	case intro == '\x1b' && rest[0] < 0x20:
		return n, true // a lone ESC
	case kind == '[':
		// It ends with its final byte, or at a byte that cannot be in it.
		start := 0
		if intro == '\x1b' {
			start = 1 // the '['
		}
		final := n > start && rest[n-1] >= 0x40 && rest[n-1] <= 0x7e
		return n, final || n < len(rest)
	case strings.IndexByte("]P_^X", kind) >= 0:
		end := rest[:n]
		return n, bytes.HasSuffix(end, []byte{'\a'}) || bytes.HasSuffix(end, []byte("\x1b\\"))
	}
	// ESC, intermediate bytes, a final byte.
	return n, rest[n-1] < 0x20 || rest[n-1] > 0x2f
}

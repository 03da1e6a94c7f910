package console

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What OVMF, GRUB and a kernel write on the serial console, control codes
// and all.
const ovmfGrubConsole = "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r\n" +
	"\x1b[0m\x1b[30m\x1b[47mGNU GRUB  version 2.06\x1b[m\r\n" +
	"\x1b]0;title\x07\x1b(B\x1b[?25l\x1b[1;1H\x1b[2K\r\n\r\n\r\n" +
	"Booting `Debian GNU/Linux'\r\n" +
	"Loading Linux 6.1.0 ...\x08\x7f\r\n" +
	"progress 10%\rprogress 100%\r\n" +
	"overwrite long line\rOVER\r\n" +
	"\u009b2Jkernel panic\tnot syncing\xff\n"

func TestClean_dropsControlCodesAndKeepsTheText(t *testing.T) {
	got := Clean([]byte(ovmfGrubConsole))
	want := "BdsDxe: loading Boot0001\n" +
		"GNU GRUB  version 2.06\n" +
		"\n" +
		"Booting `Debian GNU/Linux'\n" +
		"Loading Linux 6.1.0 ...\n" +
		"progress 100%\n" +
		"OVERwrite long line\n" +
		"kernel panic not syncing\uFFFD\n"
	if got != want {
		t.Fatalf("cleaned console:\n%q\nwant\n%q", got, want)
	}
}

// The error's tail carries no control character but the newline, and
// says that the default log goes away with the work directory and how to
// keep it.
func TestTail_cleanAndSaysWhereTheLogIs(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	if err := os.WriteFile(log, []byte(ovmfGrubConsole), 0o644); err != nil {
		t.Fatal(err)
	}
	tail := Tail(log, 30, true)
	for _, r := range tail {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			t.Fatalf("the tail holds control character %U:\n%q", r, tail)
		}
	}
	if !strings.Contains(tail, "Booting `Debian GNU/Linux'\n") || !strings.Contains(tail, "kernel panic") {
		t.Fatalf("the tail lost the console's text:\n%s", tail)
	}
	if strings.Contains(tail, log) || !strings.Contains(tail, "set serial_log_file to keep it") {
		t.Fatalf("the tail names a log the build removes, or not how to keep it:\n%s", tail)
	}

	kept := filepath.Join(t.TempDir(), "console.log")
	if err := os.WriteFile(kept, []byte("\x1b[2J\x1b[H"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tail := Tail(kept, 30, false); !strings.Contains(tail, "only terminal control codes") || !strings.Contains(tail, kept) {
		t.Fatalf("a console of control codes only: %q", tail)
	}
	if err := os.WriteFile(kept, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if tail := Tail(kept, 2, false); tail != "\nLast 2 lines of the serial console (the whole log is "+kept+"):\nb\nc" {
		t.Fatalf("a serial_log_file's tail: %q", tail)
	}
}

// GRUB draws its menu by moving the cursor from row to row, without
// newlines: each row becomes a line, and a line is quoted up to a length.
func TestClean_aCursorMoveToAnotherRowEndsTheLine(t *testing.T) {
	grub := "\x1b[2J\x1b[1;1H\x1b[0m                             GNU GRUB  version 2.06\x1b[3;2H+------+" +
		"\x1b[4;2H|*Install Debian (kvm builder fixture)|\x1b[5;2H" + strings.Repeat("x", 300) + "\x1b[7;1HBooting a command list\r\n"
	got := Clean([]byte(grub))
	want := "                             GNU GRUB  version 2.06\n+------+\n|*Install Debian (kvm builder fixture)|\n" +
		strings.Repeat("x", maxConsoleLine) + "…\nBooting a command list\n"
	if got != want {
		t.Fatalf("cleaned GRUB menu:\n%q\nwant\n%q", got, want)
	}
}

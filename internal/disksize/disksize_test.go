package disksize

import (
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"20G": 20 << 30, "10240M": 10240 << 20, "1T": 1 << 40, "512k": 512 << 10, "4GB": 4 << 30,
		"4096": 4096 << 20, " 8g ": 8 << 30, "8388607T": 8388607 << 40,
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "0", "0G", "-1", "-4G", "1.5T", "20X", "twenty", "8388608T", "9223372036854775807G"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", in, got)
		}
	}
}

// Parse takes a template's value: whatever it is given, it never panics,
// and a size it accepts is a positive whole number of KiB that reads back
// the same written in KiB and in either case.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"10G", "512M", "1.5T", "", "-1", "20GB", "4096", " 8g ", "1t", "0", "K", "+5G",
		"9223372036854775807", "8388608T", "99999999999999999999G", "10G\x00", "½G", "\u212a1", "1\u212a"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		size, err := Parse(s)
		if err != nil {
			if size != 0 {
				t.Fatalf("Parse(%q) failed (%v) with size %d", s, err, size)
			}
			return
		}
		if size <= 0 || size%1024 != 0 {
			t.Fatalf("Parse(%q) = %d: not a positive whole number of KiB", s, size)
		}
		if back, err := Parse(fmt.Sprintf("%dK", size/1024)); err != nil || back != size {
			t.Fatalf("Parse(%q) = %d, which reads back as %d, %v", s, size, back, err)
		}
		if lower, err := Parse(strings.ToLower(s)); err != nil || lower != size {
			t.Fatalf("Parse(%q) = %d but lower case gives %d, %v", s, size, lower, err)
		}
	})
}

package cidata

import (
	"strings"
	"testing"
)

func TestHostname_keepsOnlyWhatAHostnameMayHold(t *testing.T) {
	for in, want := range map[string]string{
		"golden":                "golden",
		"Debian 12 (cloud)":     "debian-12--cloud",
		"_x_":                   "x",
		strings.Repeat("a", 60): strings.Repeat("a", 50),
	} {
		if got := Hostname(in); got != want {
			t.Errorf("Hostname(%q) = %q, want %q", in, got, want)
		}
	}
}

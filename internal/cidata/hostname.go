package cidata

import "strings"

// Hostname turns a name into what a hostname may hold: lower-case
// letters, digits and dashes, at most 50 characters, no dash at either end.
func Hostname(name string) string {
	out := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, name)
	if len(out) > 50 {
		out = out[:50]
	}
	return strings.Trim(out, "-")
}

package boottest

import (
	"regexp"
	"strings"
)

// Marker lines the test's seed makes the guest print (seed.go), each
// followed by the test's nonce.
const (
	markerOK        = "BOOT-TEST-OK"
	markerNoNetwork = "BOOT-TEST-NO-NETWORK"
)

// Verdict is what the serial console shows so far.
type Verdict int

const (
	// Pending: the guest has not shown yet whether it came up.
	Pending Verdict = iota
	// Passed: the guest proved it came up.
	Passed
	// Failed: the guest showed it cannot come up.
	Failed
)

// Judge reads a cleaned serial console (console.Clean).
type Judge struct {
	// Nonce is the test's own: only a line with it proves this boot.
	Nonce string
	// Pattern, when set, replaces the seed's line: a console line that
	// matches it proves the boot (images without cloud-init).
	Pattern *regexp.Regexp
}

// knownFailures are what a Linux guest prints when it cannot come up,
// and what that means; the boot fails at once instead of at the timeout.
var knownFailures = []struct{ substr, meaning string }{
	{"Gave up waiting for root", "the guest's kernel did not find its root disk: its initramfs has no driver for the disk controller"},
	{"Dropping to a shell", "the guest's initramfs could not mount the root file system (no driver for the disk controller?)"},
	{"Kernel panic - not syncing", "the guest's kernel panicked"},
}

// stillWaiting are what a guest that hangs prints last, and what that
// means, for the timeout's message.
var stillWaiting = []struct{ substr, meaning string }{
	{"Waiting for root file system", "the guest's kernel is still waiting for its root disk: its initramfs has no driver for the disk controller"},
	{"Waiting for root device", "the guest's kernel is still waiting for its root disk: its initramfs has no driver for the disk controller"},
	{"A start job is running for", "systemd is still waiting for a unit (a network card or disk without a driver?)"},
}

// Judge tells whether the console proves the boot, shows a failure (with
// what it means), or neither yet.
func (j Judge) Judge(console string) (Verdict, string) {
	for _, line := range strings.Split(console, "\n") {
		if j.Pattern != nil {
			if j.Pattern.MatchString(line) {
				return Passed, ""
			}
		} else if containsMarker(line, markerOK, j.Nonce) {
			return Passed, ""
		} else if containsMarker(line, markerNoNetwork, j.Nonce) {
			detail := strings.TrimSpace(line[strings.Index(line, j.Nonce)+len(j.Nonce):])
			return Failed, "the guest booted and cloud-init's final stage ran, but its network did not come up (no default route; a network card without a driver?). Its links: " + detail
		}
		for _, f := range knownFailures {
			if strings.Contains(line, f.substr) {
				return Failed, f.meaning + ": " + strings.TrimSpace(line)
			}
		}
	}
	return Pending, ""
}

// containsMarker: the line holds marker, a space and the nonce.
func containsMarker(line, marker, nonce string) bool {
	return nonce != "" && strings.Contains(line, marker+" "+nonce)
}

// Stalled says what a console that never reached a verdict was last
// doing, or "".
func Stalled(console string) string {
	lines := strings.Split(strings.TrimRight(console, "\n"), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	for i := len(lines) - 1; i >= 0; i-- {
		for _, w := range stillWaiting {
			if strings.Contains(lines[i], w.substr) {
				return w.meaning
			}
		}
	}
	return ""
}

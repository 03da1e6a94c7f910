package kvm

import "github.com/kvmforge/packer-plugin-kvm/internal/guestaccess"

// shellQuote quotes s as one word for a POSIX shell (the warm start's
// migration commands).
func shellQuote(s string) string { return guestaccess.ShellQuote(s) }

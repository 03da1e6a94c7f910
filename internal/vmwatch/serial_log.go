package vmwatch

import "github.com/kvmforge/packer-plugin-kvm/internal/console"

// SerialLog is the guest's serial console log, whose last lines end the
// errors of this package.
type SerialLog struct {
	// Path is the log file; "" when there is none.
	Path string
	// RemovedWithBuild says the log lives in the build's work directory
	// and goes away with it; the errors then say how to keep it instead
	// of naming it.
	RemovedWithBuild bool
}

// Tail formats the log's last lines for an error message.
func (l SerialLog) Tail(lines int) string {
	return console.Tail(l.Path, lines, l.RemovedWithBuild)
}

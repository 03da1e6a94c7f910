package kvm

import (
	"path/filepath"
	"strings"

	"github.com/kvmforge/packer-plugin-kvm/internal/console"
	"github.com/kvmforge/packer-plugin-kvm/internal/vmwatch"
)

// serialTail formats the last lines of the serial console log at path for
// an error message (internal/console). The default log lives in the
// build's work directory and goes away with it; the message says so.
func serialTail(path string, lines int) string {
	return console.Tail(path, lines, inWorkDir(path))
}

// serialLogOf is the serial console log at path as the VM watch reads it.
func serialLogOf(path string) vmwatch.SerialLog {
	return vmwatch.SerialLog{Path: path, RemovedWithBuild: inWorkDir(path)}
}

// inWorkDir reports whether path is in a build's work directory, which is
// removed when the build ends.
func inWorkDir(path string) bool {
	return strings.HasPrefix(filepath.Base(filepath.Dir(path)), workDirPrefix)
}

package qemu

import "strings"

// hypervisorFailureSigns are what QEMU and the VM watch say when the
// hypervisor, not the guest, gave up: QEMU's KVM layer aborting at start
// (an MSR it cannot set), KVM stopping the guest (an instruction its
// emulator refuses, a failed VM entry), or the run state QEMU reports
// for either.
var hypervisorFailureSigns = []string{
	`QMP status "internal-error"`,
	"KVM internal error",
	"emulation failure",
	"kvm run failed",
	"KVM: entry failed",
	"failed to set MSR",
	"failed to get MSR",
	"kvm_buf_set_msrs",
	"kvm_init_vcpu",
	"Could not access KVM kernel module",
	"failed to initialize kvm",
}

// IsHypervisorFailure reports whether err is the hypervisor failing rather
// than the guest or the template.
func IsHypervisorFailure(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	for _, sign := range hypervisorFailureSigns {
		if strings.Contains(msg, sign) {
			return true
		}
	}
	return false
}

// FirstLine keeps an error message's first line: the VM watch's errors
// append the serial console's tail, which belongs in the final error, not
// a warning.
func FirstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return strings.TrimSpace(line)
}

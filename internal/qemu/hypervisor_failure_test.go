package qemu

import (
	"errors"
	"testing"
)

func TestIsHypervisorFailure(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{errors.New(`the hypervisor stopped the guest (QMP status "internal-error")`), true},
		{errors.New("qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"), true},
		{errors.New("KVM: entry failed, hardware error 0x80000021"), true},
		{errors.New("timeout waiting for SSH"), false},
		{errors.New("the guest kernel panicked"), false},
		{nil, false},
	}
	for _, tc := range cases {
		if got := IsHypervisorFailure(tc.err); got != tc.want {
			t.Errorf("IsHypervisorFailure(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestFirstLine_dropsTheSerialConsoleTail(t *testing.T) {
	if got := FirstLine("  KVM internal error \n(the serial console printed nothing)"); got != "KVM internal error" {
		t.Fatalf("FirstLine = %q", got)
	}
}

package kvm

import (
	"slices"
	"strings"
	"testing"
)

func TestQemuArgs_aarch64TakesItsCPUAndDisplayFromTheArchTable(t *testing.T) {
	spec := testSpec()
	spec.Arch, spec.MachineType = "aarch64", archAArch64.Machine
	m := testMedia()
	m.VNCDisplay = 1
	cmdline := strings.Join(qemuArgs(spec, m), " ")
	for _, want := range []string{"-machine virt,gic-version=max,highmem=on", "-accel tcg -cpu max,pauth-impdef=on", "-device ramfb -display none -vnc 127.0.0.1:1"} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	if strings.Contains(cmdline, "-vga") || strings.Contains(cmdline, "isa-") {
		t.Errorf("the virt board has no VGA or ISA bus:\n%s", cmdline)
	}
	m.Accelerator = "kvm"
	if cmdline := strings.Join(qemuArgs(spec, m), " "); !strings.Contains(cmdline, "-accel kvm -cpu host") {
		t.Errorf("want -cpu host under KVM: %s", cmdline)
	}
}

func TestBuilder_advertisesTheArchitecture(t *testing.T) {
	names, _, err := (&Builder{}).Prepare(minimalConfig())
	if err != nil || !slices.Contains(names, "Architecture") {
		t.Fatalf("generated data names %v (err %v) lack Architecture", names, err)
	}
}

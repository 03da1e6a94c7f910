package kvm

import (
	"strings"
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
	"github.com/kvmforge/packer-plugin-kvm/internal/validate"
)

// foreignArch is an architecture KVM cannot run on this host.
func foreignArch() string {
	if qemu.HostArch() == "aarch64" {
		return "x86_64"
	}
	return "aarch64"
}

func TestConfigArch_namesAreNormalisedAndDriveTheDefaults(t *testing.T) {
	cases := []struct {
		arch, want, binary, machine, firmware string
	}{
		{"x86_64", "x86_64", "qemu-system-x86_64", "q35", "bios"},
		{"amd64", "x86_64", "qemu-system-x86_64", "q35", "bios"},
		{"aarch64", "aarch64", "qemu-system-aarch64", "virt,gic-version=max,highmem=on", "uefi"},
		{"ARM64", "aarch64", "qemu-system-aarch64", "virt,gic-version=max,highmem=on", "uefi"},
	}
	for _, tc := range cases {
		t.Run(tc.arch, func(t *testing.T) {
			c, _, err := prepare(t, map[string]interface{}{"arch": tc.arch})
			if err != nil {
				t.Fatal(err)
			}
			got := [4]string{c.Arch, c.QemuBinary, c.MachineType, c.Firmware}
			if want := [4]string{tc.want, tc.binary, tc.machine, tc.firmware}; got != want {
				t.Fatalf("arch, qemu_binary, machine_type, firmware = %q, want %q", got, want)
			}
		})
	}
}

func TestConfigArch_defaultIsTheHosts(t *testing.T) {
	c, _, err := prepare(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Arch != qemu.HostArch() || c.QemuBinary != defaultQemuBinary() {
		t.Fatalf("arch %q qemu_binary %q, want the host's %q and %q", c.Arch, c.QemuBinary, qemu.HostArch(), defaultQemuBinary())
	}
}

func TestConfigArch_explicitChoicesAreKept(t *testing.T) {
	c, _, err := prepare(t, map[string]interface{}{"arch": "arm64", "machine_type": "virt-7.2", "qemu_binary": "/opt/qemu/bin/qemu-system-aarch64"})
	if err != nil {
		t.Fatal(err)
	}
	if c.MachineType != "virt-7.2" || c.QemuBinary != "/opt/qemu/bin/qemu-system-aarch64" {
		t.Fatalf("machine_type %q qemu_binary %q were overridden", c.MachineType, c.QemuBinary)
	}
}

func TestConfigArch_invalidCombinationsAreRefused(t *testing.T) {
	foreign := foreignArch()
	cases := []struct {
		name      string
		overrides map[string]interface{}
		wants     []string
	}{
		{"unknown arch", map[string]interface{}{"arch": "sparc"}, []string{`arch "sparc"`, "x86_64 (amd64) or aarch64 (arm64)"}},
		{"bios on aarch64", map[string]interface{}{"arch": "aarch64", "firmware": "bios"}, []string{`firmware "bios"`, "aarch64 guests boot UEFI"}},
		{"q35 on aarch64", map[string]interface{}{"arch": "aarch64", "machine_type": "q35"}, []string{`machine_type "q35"`, `arch "aarch64"`, `"virt,gic-version=max,highmem=on"`}},
		{"virt on x86_64", map[string]interface{}{"arch": "x86_64", "machine_type": "virt,highmem=on"}, []string{`machine_type "virt"`, `use "q35"`}},
		{"kvm for a foreign guest", map[string]interface{}{"arch": foreign, "accelerator": "kvm"}, []string{`accelerator "kvm" cannot run an ` + foreign + " guest on this " + qemu.HostArch() + " host", `"tcg"`}},
		{"host cpu for a foreign guest", map[string]interface{}{"arch": foreign, "cpu_model": "host"}, []string{`cpu_model "host" needs KVM`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := prepare(t, tc.overrides)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestConfigArch_sameArchAcceptsKVM(t *testing.T) {
	if _, _, err := prepare(t, map[string]interface{}{"arch": qemu.HostArch(), "accelerator": "kvm", "cpu_model": "host"}); err != nil {
		t.Fatalf("KVM for the host's own architecture refused: %v", err)
	}
}

func TestConfigArch_unknownPlaceholdersPassValidate(t *testing.T) {
	_, _, err := prepare(t, map[string]interface{}{"arch": validate.Unknown, "machine_type": validate.Unknown})
	if err != nil {
		t.Fatalf("packer validate with data-source values: %v", err)
	}
}

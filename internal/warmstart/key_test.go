package warmstart

import (
	"testing"

	"github.com/kvmforge/packer-plugin-kvm/internal/qemu"
)

func testInputs() KeyInputs {
	return KeyInputs{Source: "abc", SeedUser: "packer", Machine: "q35", CPUs: 1, MemoryMiB: 1024, Accelerator: "tcg", QemuVersion: "7.2", PluginVersion: "0.1.0"}
}

func TestKey_changesWithEveryInput(t *testing.T) {
	base := testInputs()
	changes := map[string]func(*KeyInputs){
		"memory":   func(in *KeyInputs) { in.MemoryMiB = 2048 },
		"cpus":     func(in *KeyInputs) { in.CPUs = 2 },
		"source":   func(in *KeyInputs) { in.Source = "def" },
		"userdata": func(in *KeyInputs) { in.UserData = "x" },
		"firmware": func(in *KeyInputs) { in.Firmware = "uefi" },
		"qemu":     func(in *KeyInputs) { in.QemuVersion = "8.0" },
		"plugin":   func(in *KeyInputs) { in.PluginVersion = "0.2.0" },
		"disk":     func(in *KeyInputs) { in.DiskSize = 1 },
		"accel":    func(in *KeyInputs) { in.Accelerator = "kvm" },
	}
	for name, change := range changes {
		in := base
		change(&in)
		if in.Key() == base.Key() {
			t.Errorf("changing %s keeps the key", name)
		}
	}
	if testInputs().Key() != base.Key() {
		t.Error("equal inputs give different keys")
	}
}

func TestKey_hardwareChangesTheKey(t *testing.T) {
	a := KeyInputs{Source: "s", Hardware: qemu.Hardware{DiskInterface: "virtio-blk"}}
	b := a
	b.Hardware.DiskInterface = "nvme"
	if a.Key() == b.Key() {
		t.Fatal("a different disk interface resumes the same saved VM")
	}
}

// Argument lists split differently key differently.
func TestQemuArgsInput_keepsTheListsApart(t *testing.T) {
	a := KeyInputs{QemuArgs: QemuArgsInput([][]string{{"-a", "b"}})}
	b := KeyInputs{QemuArgs: QemuArgsInput([][]string{{"-a"}, {"b"}})}
	if a.Key() == b.Key() {
		t.Fatal("[-a b] and [-a] [b] give the same key")
	}
}

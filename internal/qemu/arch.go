package qemu

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// Arch is what the builder needs to know about a guest architecture:
// the QEMU emulator, the machine and CPU that boot a cloud image, and where
// its UEFI firmware lives.
type Arch struct {
	// Name is the guest architecture as `uname -m` and QEMU name it.
	Name string
	// QemuBinary is the default system emulator.
	QemuBinary string
	// Machine is the default machine type.
	Machine string
	// Machines are the machine type families the architecture has: a
	// machine_type whose name (before the first comma) is one of them, or
	// starts with one of them and a dash (versioned types), is accepted.
	Machines []string
	// KVMCPU and TCGCPU are the default CPU models under each accelerator.
	KVMCPU, TCGCPU string
	// UEFIOnly architectures have no BIOS: firmware defaults to "uefi".
	UEFIOnly bool
	// Firmware lists UEFI code and variables file pairs, in search order,
	// for hosts without QEMU firmware descriptors: where a host has
	// descriptors (every current Linux distribution), they choose the
	// firmware (stepPrepareFirmware, internal/firmware).
	Firmware [][2]string
	// FirmwareSize is the size QEMU's pflash devices need, when the
	// machine maps fixed-size flash banks (0: files are used as they are).
	FirmwareSize int64
	// FirmwarePackages tells the user what to install when no firmware is found.
	FirmwarePackages string
	// SerialConsole is the guest kernel's name of the first serial port.
	SerialConsole string
	// VNCDisplay is the display device a VNC session shows.
	VNCDisplay []string
}

// ArchX8664 boots cloud images on the q35 machine.
var ArchX8664 = Arch{
	Name:             "x86_64",
	QemuBinary:       "qemu-system-x86_64",
	Machine:          "q35",
	Machines:         []string{"q35", "pc", "microvm", "isapc"},
	KVMCPU:           "host",
	TCGCPU:           "max",
	Firmware:         ovmfCandidates,
	FirmwarePackages: "the ovmf package (apt-get install ovmf) or edk2-ovmf (dnf install edk2-ovmf)",
	SerialConsole:    "ttyS0",
	VNCDisplay:       []string{"-vga", "std"},
}

// ArchAArch64 boots cloud kernels on QEMU's `virt` board. GIC version "max"
// gives the newest interrupt controller the accelerator offers (GICv3 and
// up, which guests with more than 8 vCPUs need); highmem places PCIe and
// RAM above 4 GiB so guests can have more than 3 GiB of memory. Under TCG,
// `max` emulates every feature QEMU knows, and its pointer authentication
// with the architected QARMA algorithm costs a large share of an emulated
// boot; the IMPDEF algorithm (QEMU 6.2 and later) is as correct for a guest
// and several times cheaper.
var ArchAArch64 = Arch{
	Name:       "aarch64",
	QemuBinary: "qemu-system-aarch64",
	Machine:    "virt,gic-version=max,highmem=on",
	Machines:   []string{"virt", "sbsa-ref"},
	KVMCPU:     "host",
	TCGCPU:     "max,pauth-impdef=on",
	UEFIOnly:   true,
	Firmware:   aavmfCandidates(),
	// The `virt` board maps two 64 MiB flash banks and refuses smaller files.
	FirmwareSize:     64 << 20,
	FirmwarePackages: "qemu-efi-aarch64 (Debian, Ubuntu), edk2-aarch64 (Fedora, Arch) or qemu (Homebrew)",
	SerialConsole:    "ttyAMA0",
	VNCDisplay:       []string{"-device", "ramfb"},
}

// archesByName are the specs by every name the `arch` option accepts: QEMU's and Go's.
var archesByName = map[string]Arch{
	"x86_64":  ArchX8664,
	"amd64":   ArchX8664,
	"aarch64": ArchAArch64,
	"arm64":   ArchAArch64,
}

// aavmfCandidates lists, for hosts without QEMU firmware descriptors,
// where distributions put the arm64 UEFI firmware
// (edk2's ArmVirtQemu build): Debian and Ubuntu's qemu-efi-aarch64
// (AAVMF, already 64 MiB), Fedora's edk2-aarch64 (raw pflash images), Arch
// Linux's edk2-aarch64, and the copy QEMU itself installs (Homebrew on Apple
// silicon and Intel Macs, Linuxbrew, source builds), which is smaller than
// the flash bank and is padded per build.
func aavmfCandidates() [][2]string {
	c := [][2]string{
		{"/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"},
		{"/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw", "/usr/share/edk2/aarch64/vars-template-pflash.raw"},
		{"/usr/share/edk2/aarch64/QEMU_EFI.fd", "/usr/share/edk2/aarch64/QEMU_VARS.fd"},
	}
	for _, prefix := range []string{"/opt/homebrew", "/usr/local", "/home/linuxbrew/.linuxbrew", "/usr"} {
		share := filepath.Join(prefix, "share", "qemu")
		c = append(c, [2]string{filepath.Join(share, "edk2-aarch64-code.fd"), filepath.Join(share, "edk2-arm-vars.fd")})
	}
	return c
}

// HostArch is the machine's architecture in QEMU's naming.
func HostArch() string {
	if spec, ok := archesByName[runtime.GOARCH]; ok {
		return spec.Name
	}
	return runtime.GOARCH
}

// LookupArch normalises an `arch` value ("" is the host's).
func LookupArch(name string) (Arch, error) {
	if name == "" {
		name = HostArch()
	}
	spec, ok := archesByName[strings.ToLower(name)]
	if !ok {
		return Arch{}, fmt.Errorf("arch %q is not supported: use x86_64 (amd64) or aarch64 (arm64)", name)
	}
	return spec, nil
}

// ArchByName is the spec of a normalised name; the zero value ("") is
// x86_64, what the builder ran before it knew other architectures.
func ArchByName(name string) Arch {
	if spec, ok := archesByName[name]; ok {
		return spec
	}
	return ArchX8664
}

// HasMachine reports whether machine (a -machine value with its options)
// is one of the architecture's machine types.
func (a Arch) HasMachine(machine string) bool {
	name, _, _ := strings.Cut(machine, ",")
	for _, family := range a.Machines {
		if name == family || strings.HasPrefix(name, family+"-") {
			return true
		}
	}
	return false
}

// CPUFor is the default CPU model under accel: the host's own CPU where
// the accelerator passes it through (KVM, HVF), otherwise the emulated
// model that runs best (WHPX takes QEMU's `max` too).
func (a Arch) CPUFor(accel string) string {
	if accel == "kvm" || accel == "hvf" {
		return a.KVMCPU
	}
	return a.TCGCPU
}

// KVMCanRun reports whether KVM can run this guest on this host: KVM
// virtualizes the host's own processor and cannot run another
// architecture's instructions, so a foreign guest is always emulated.
func (a Arch) KVMCanRun(host string) bool { return a.Name == host }

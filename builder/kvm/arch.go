package kvm

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// archSpec is what the builder needs to know about a guest architecture:
// the QEMU emulator, the machine and CPU that boot a cloud image, and where
// its UEFI firmware lives.
type archSpec struct {
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

var archX8664 = archSpec{
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

// archAArch64 boots cloud kernels on QEMU's `virt` board. GIC version "max"
// gives the newest interrupt controller the accelerator offers (GICv3 and
// up, which guests with more than 8 vCPUs need); highmem places PCIe and
// RAM above 4 GiB so guests can have more than 3 GiB of memory. Under TCG,
// `max` emulates every feature QEMU knows, and its pointer authentication
// with the architected QARMA algorithm costs a large share of an emulated
// boot; the IMPDEF algorithm (QEMU 6.2 and later) is as correct for a guest
// and several times cheaper.
var archAArch64 = archSpec{
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

// archSpecs by every name the `arch` option accepts: QEMU's and Go's.
var archSpecs = map[string]archSpec{
	"x86_64":  archX8664,
	"amd64":   archX8664,
	"aarch64": archAArch64,
	"arm64":   archAArch64,
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

// hostArch is the machine's architecture in QEMU's naming.
func hostArch() string {
	if spec, ok := archSpecs[runtime.GOARCH]; ok {
		return spec.Name
	}
	return runtime.GOARCH
}

// lookupArch normalises an `arch` value ("" is the host's).
func lookupArch(name string) (archSpec, error) {
	if name == "" {
		name = hostArch()
	}
	spec, ok := archSpecs[strings.ToLower(name)]
	if !ok {
		return archSpec{}, fmt.Errorf("arch %q is not supported: use x86_64 (amd64) or aarch64 (arm64)", name)
	}
	return spec, nil
}

// archByName is the spec of a normalised name; the zero value ("") is
// x86_64, what the builder ran before it knew other architectures.
func archByName(name string) archSpec {
	if spec, ok := archSpecs[name]; ok {
		return spec
	}
	return archX8664
}

// hasMachine reports whether machine (a -machine value with its options)
// is one of the architecture's machine types.
func (a archSpec) hasMachine(machine string) bool {
	name, _, _ := strings.Cut(machine, ",")
	for _, family := range a.Machines {
		if name == family || strings.HasPrefix(name, family+"-") {
			return true
		}
	}
	return false
}

// cpuFor is the default CPU model under accel: the host's own CPU where
// the accelerator passes it through (KVM, HVF), otherwise the emulated
// model that runs best (WHPX takes QEMU's `max` too).
func (a archSpec) cpuFor(accel string) string {
	if accel == "kvm" || accel == "hvf" {
		return a.KVMCPU
	}
	return a.TCGCPU
}

// kvmCanRun reports whether KVM can run this guest on this host: KVM
// virtualizes the host's own processor and cannot run another
// architecture's instructions, so a foreign guest is always emulated.
func (a archSpec) kvmCanRun(host string) bool { return a.Name == host }

// fileSize is a file's size, 0 when it cannot be read.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

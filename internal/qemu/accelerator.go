package qemu

import "fmt"

// nativeAccelerators is each host OS's own hardware accelerator in QEMU:
// KVM on Linux, Hypervisor.framework on macOS, the Windows Hypervisor
// Platform on Windows. Other hosts (FreeBSD, ...) have none QEMU uses,
// so `auto` emulates there.
var nativeAccelerators = map[string]string{"linux": "kvm", "darwin": "hvf", "windows": "whpx"}

// acceleratorOS names the host OS each accelerator runs on, for errors.
var acceleratorOS = map[string]string{"kvm": "Linux", "hvf": "macOS", "whpx": "Windows"}

// AcceleratorHostError says why accelerator cannot run on host OS goos,
// or returns nil: `kvm`, `hvf` and `whpx` each run only on their own OS.
func AcceleratorHostError(accel, goos string) error {
	needs, hardware := acceleratorOS[accel]
	if !hardware || nativeAccelerators[goos] == accel {
		return nil
	}
	instead := `"tcg"`
	if native := nativeAccelerators[goos]; native != "" {
		instead = fmt.Sprintf(`"auto" (which picks %s on this host) or "tcg"`, native)
	}
	return fmt.Errorf("accelerator %q runs only on %s hosts and this host is %s: use %s", accel, needs, goos, instead)
}

// SelectAccelerator is the accelerator for mode on host OS goos. probe
// tells whether a hardware accelerator can run the guest. When `auto`
// falls back to TCG, fallback says why (for a warning); an explicit
// hardware mode that cannot run fails with err.
func SelectAccelerator(mode, goos string, probe func(accel string) error) (accel string, fallback, err error) {
	if mode == "tcg" {
		return "tcg", nil, nil
	}
	if mode != "auto" {
		if err := AcceleratorHostError(mode, goos); err != nil {
			return "", nil, err
		}
		if err := probe(mode); err != nil {
			return "", nil, fmt.Errorf("accelerator = %q but %s cannot run the guest: %w. Use accelerator = \"auto\" or \"tcg\" to emulate", mode, mode, err)
		}
		return mode, nil, nil
	}
	native := nativeAccelerators[goos]
	if native == "" {
		return "tcg", fmt.Errorf("QEMU has no hardware accelerator on %s", goos), nil
	}
	if err := probe(native); err != nil {
		return "tcg", fmt.Errorf("%s is not usable (%w)", native, err), nil
	}
	return native, nil, nil
}

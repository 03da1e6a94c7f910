//go:build darwin

package qemu

// ovmfCandidates on macOS: the edk2 build QEMU bundles and installs in its
// share directory, under Homebrew (Apple silicon, then Intel) or MacPorts.
// QEMU names the x86_64 variables template after i386.
var ovmfCandidates = [][2]string{
	{"/opt/homebrew/share/qemu/edk2-x86_64-code.fd", "/opt/homebrew/share/qemu/edk2-i386-vars.fd"},
	{"/usr/local/share/qemu/edk2-x86_64-code.fd", "/usr/local/share/qemu/edk2-i386-vars.fd"},
	{"/opt/local/share/qemu/edk2-x86_64-code.fd", "/opt/local/share/qemu/edk2-i386-vars.fd"},
}

// OVMFInstallHint says how to get OVMF on this host.
const OVMFInstallHint = "install QEMU with Homebrew (brew install qemu), which bundles it"

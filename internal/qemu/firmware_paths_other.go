//go:build !linux && !darwin && !windows

package qemu

// ovmfCandidates on the BSDs: the edk2 build QEMU bundles, installed under
// the ports' /usr/local prefix.
var ovmfCandidates = [][2]string{
	{"/usr/local/share/qemu/edk2-x86_64-code.fd", "/usr/local/share/qemu/edk2-i386-vars.fd"},
}

// OVMFInstallHint says how to get OVMF on this host.
const OVMFInstallHint = "install QEMU from ports or packages (pkg install qemu), which bundles it"

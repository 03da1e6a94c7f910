//go:build linux

package qemu

// ovmfCandidates lists where Linux distributions put OVMF, newest layouts
// first: Debian/Ubuntu ship 4 MiB builds as *_4M.fd; Fedora/RHEL use
// edk2/ovmf; Arch and openSUSE use the edk2-ovmf and qemu paths. They are
// searched only on a host without QEMU firmware descriptors
// (/usr/share/qemu/firmware and the like), which current distributions'
// OVMF packages install and which are read instead.
var ovmfCandidates = [][2]string{
	{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
	{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
	{"/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"},
	{"/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"},
	{"/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd"},
	{"/usr/share/qemu/ovmf-x86_64-code.bin", "/usr/share/qemu/ovmf-x86_64-vars.bin"},
	// QEMU's own bundled build, as `make install` puts it.
	{"/usr/share/qemu/edk2-x86_64-code.fd", "/usr/share/qemu/edk2-i386-vars.fd"},
}

// OVMFInstallHint says how to get OVMF on this host.
const OVMFInstallHint = "install the ovmf package (apt-get install ovmf, dnf install edk2-ovmf)"

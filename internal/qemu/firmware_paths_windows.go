//go:build windows

package qemu

// ovmfCandidates on Windows: the edk2 build the QEMU installer (from
// qemu.weilnetz.de, linked from qemu.org) puts in its share folder, and
// MSYS2's mingw64 package.
var ovmfCandidates = [][2]string{
	{`C:\Program Files\qemu\share\edk2-x86_64-code.fd`, `C:\Program Files\qemu\share\edk2-i386-vars.fd`},
	{`C:\msys64\mingw64\share\qemu\edk2-x86_64-code.fd`, `C:\msys64\mingw64\share\qemu\edk2-i386-vars.fd`},
}

// OVMFInstallHint says how to get OVMF on this host.
const OVMFInstallHint = "install QEMU for Windows (linked from qemu.org), which bundles it"

package qemu

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Spec is the build's VM: everything of the QEMU command line that the
// template decides.
type Spec struct {
	Name          string
	MachineType   string
	CPUModel      string
	CPUs          int
	MemoryMiB     int
	VNC           bool
	SerialLogFile string
	QemuArgs      [][]string
	Hardware      Hardware
	// CDROMInterface is set for installer builds only: their source
	// (source_image_path) is an ISO attached as a CD-ROM (InstallerMedia).
	CDROMInterface string
	// Arch is the guest architecture (arch.go); "" is x86_64.
	Arch string
}

// Media are the per-run parts of the command line: the files, sockets and
// ports the build's steps produced before QEMU starts.
type Media struct {
	Accelerator   string
	Overlay, Seed string
	SSHHostPort   int
	QMPSocket     string
	SerialLog     string
	// SerialSocket, when set, is where the serial console listens as a
	// unix socket for a boot command typed over serial (boot_command_input
	// = "serial"), instead of writing SerialLog: the plugin connects,
	// records the log itself (console.Recorder), then starts the paused VM
	// (QEMU runs with -S) so that no byte of the console is missed.
	SerialSocket     string
	EFICode, EFIVars string
	// EFIFormats are the code's and the variables' block formats ("" is
	// raw).
	EFIFormats [2]string
	// EFISMM: the firmware requires SMM; EFISecure: its variables flash is
	// to be writable from SMM only (stepPrepareFirmware).
	EFISMM, EFISecure bool
	VNCDisplay        int
	AdditionalDisks   []string
	TPMSocket         string
	Installer         InstallerMedia
}

// Args is the QEMU command line (without the binary) of spec booting m.
// The order is fixed: golden tests (testdata/args) compare it exactly.
func Args(spec Spec, m Media) []string {
	cpu := spec.CPUModel
	if cpu == "" {
		cpu = ArchByName(spec.Arch).CPUFor(m.Accelerator)
	}
	args := []string{
		"-name", spec.Name,
		"-machine", spec.MachineType,
		"-accel", m.Accelerator,
		"-cpu", cpu,
		"-smp", strconv.Itoa(spec.CPUs),
		"-m", strconv.Itoa(spec.MemoryMiB) + "M",
		"-nodefaults", "-no-user-config",
		"-qmp", "unix:" + m.QMPSocket + ",server=on,wait=off",
		"-chardev", serialChardev(m),
		"-serial", "chardev:serial0",
	}
	if m.SerialSocket != "" {
		args = append(args, "-S")
	}
	// discard=unmap (the default) lets fstrim in the guest shrink the final image.
	args = append(args, diskArgs(spec.Hardware, append([]string{m.Overlay}, m.AdditionalDisks...))...)
	if m.Seed != "" {
		// The seed is a virtio disk: every cloud kernel has virtio-blk,
		// while a SATA CD-ROM on q35 is invisible to many of them.
		args = append(args,
			"-drive", "file="+m.Seed+",if=none,id=seed,format=raw,readonly=on",
			"-device", "virtio-blk-pci,drive=seed")
	}
	args = append(args, m.Installer.args()...)
	args = append(args, netArgs(spec.Hardware, m.SSHHostPort)...)
	// Entropy for the guest's first-boot key generation.
	args = append(args, "-device", "virtio-rng-pci")
	if m.EFICode != "" {
		args = append(args,
			"-drive", "if=pflash,format="+cmp.Or(m.EFIFormats[0], "raw")+",unit=0,readonly=on,file="+m.EFICode,
			"-drive", "if=pflash,format="+cmp.Or(m.EFIFormats[1], "raw")+",unit=1,file="+m.EFIVars)
	}
	args = append(args, smmArgs(spec.Hardware.SecureBoot || m.EFISMM, spec.Hardware.SecureBoot || m.EFISecure)...)
	args = append(args, tpmArgs(spec.Hardware, m.TPMSocket)...)
	if m.VNCDisplay >= 0 {
		args = append(args, ArchByName(spec.Arch).VNCDisplay...)
		// password=on: no client gets in before the build sets its
		// random password over QMP (vnc_password.go).
		args = append(args, "-display", "none", "-vnc", fmt.Sprintf("127.0.0.1:%d,password=on", m.VNCDisplay))
	} else {
		args = append(args, "-display", "none")
	}
	for _, extra := range spec.QemuArgs {
		args = append(args, extra...)
	}
	return args
}

// serialChardev is the serial console's backend: its log file, or a unix
// socket (a server that does not wait for its client: QEMU must answer QMP
// before the plugin connects). Not QEMU's logfile option: with a client
// connected it logs bytes the socket did not take twice or not at all.
func serialChardev(m Media) string {
	if m.SerialSocket == "" {
		return "file,id=serial0,path=" + m.SerialLog
	}
	return "socket,id=serial0,path=" + strings.ReplaceAll(m.SerialSocket, ",", ",,") + ",server=on,wait=off"
}

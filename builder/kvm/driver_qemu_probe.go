package kvm

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
)

// kvmProbe is how ProbeKVM sees an empty machine run: the QEMU arguments
// that give the machine something to print, and the log that shows it did.
type kvmProbe struct {
	args []string
	log  string
	// proofs are the outputs of which any one proves the guest ran.
	proofs [][]byte
}

// newKVMProbe prepares the probe of an architecture's empty machine in dir.
//   - x86_64: the machine's SeaBIOS logs to the debug port, and reaches its
//     boot menu in well under a second.
//   - aarch64: the `virt` board has no firmware of its own, so QEMU's
//     generic loader places a six-instruction program in RAM (64 MiB in:
//     QEMU puts the device tree at the start of RAM) and points the CPU at
//     it; it writes "ok" to the PL011 UART (whose data register is at
//     0x09000000 on `virt`) and spins.
func newKVMProbe(arch, dir string) (*kvmProbe, error) {
	log := filepath.Join(dir, "probe.log")
	if arch != "aarch64" {
		return &kvmProbe{
			args: []string{"-chardev", "file,id=seabios,path=" + log,
				"-device", "isa-debugcon,iobase=0x402,chardev=seabios"},
			log:    log,
			proofs: [][]byte{[]byte("Booting from"), []byte("No bootable device")},
		}, nil
	}
	program := filepath.Join(dir, "probe.bin")
	if err := os.WriteFile(program, aarch64ProbeProgram(), 0o600); err != nil {
		return nil, err
	}
	return &kvmProbe{
		args: []string{"-chardev", "file,id=probe,path=" + log, "-serial", "chardev:probe",
			"-device", "loader,file=" + program + ",addr=0x44000000,cpu-num=0"},
		log:    log,
		proofs: [][]byte{[]byte("ok")},
	}, nil
}

// aarch64ProbeProgram is the probe's machine code (A64, little-endian).
func aarch64ProbeProgram() []byte {
	instructions := []uint32{
		0xd2a12000, // movz x0, #0x0900, lsl #16   (x0 = 0x09000000, UART data)
		0x52800de1, // movz w1, #'o'
		0x39000001, // strb w1, [x0]
		0x52800d61, // movz w1, #'k'
		0x39000001, // strb w1, [x0]
		0x14000000, // b .
	}
	out := make([]byte, 0, 4*len(instructions))
	for _, in := range instructions {
		out = binary.LittleEndian.AppendUint32(out, in)
	}
	return out
}

// ran reports whether the probe's log shows the guest ran.
func (p *kvmProbe) ran() bool {
	out, _ := os.ReadFile(p.log)
	for _, proof := range p.proofs {
		if bytes.Contains(out, proof) {
			return true
		}
	}
	return false
}

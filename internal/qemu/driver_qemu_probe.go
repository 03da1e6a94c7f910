package qemu

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
)

// x86ProbeBootSector is the boot sector assembled from kvmprobe/x86_64.S:
// real mode, protected mode with string I/O, MMIO string moves and an
// interrupt return, a BIOS disk read back in real mode, then long mode
// with paging, each step marked on the debug port. The test
// TestX86ProbeBootSector_isTheAssembledSource rebuilds it from the source.
//
//go:embed kvmprobe/x86_64.bin
var x86ProbeBootSector []byte

// x86ProbeMarker is what the boot sector writes once it runs in long mode.
const x86ProbeMarker = "kvm-probe: long mode reached"

// x86ProbeStages names the letters the boot sector writes as it goes, so a
// failed probe can say how far the guest came.
var x86ProbeStages = []struct {
	letter byte
	stage  string
}{
	{'R', "real mode"}, {'P', "protected mode with string I/O"}, {'I', "MMIO string moves and an interrupt return"},
	{'B', "a BIOS disk read back in real mode"}, {'L', "long mode with paging"},
}

// kvmProbe is how ProbeKVM sees an empty machine run: the QEMU arguments
// that give the machine something to print, and the log that shows it did.
type kvmProbe struct {
	args []string
	log  string
	// proofs are the outputs of which any one proves the guest ran.
	proofs [][]byte
}

// newKVMProbe prepares the probe of an architecture's empty machine in dir.
//   - x86_64: SeaBIOS boots a 1 MiB disk whose boot sector walks through
//     the processor modes a boot loader and kernel use (kvmprobe/x86_64.S)
//     and writes a marker to the debug port from long mode. A SeaBIOS that
//     merely starts is not enough: on some paravirtualized hosts it does,
//     and the guest then dies in its boot loader.
//   - aarch64: the `virt` board has no firmware of its own, so QEMU's
//     generic loader places a six-instruction program in RAM (64 MiB in:
//     QEMU puts the device tree at the start of RAM) and points the CPU at
//     it; it writes "ok" to the PL011 UART (whose data register is at
//     0x09000000 on `virt`) and spins.
func newKVMProbe(arch, dir string) (*kvmProbe, error) {
	log := filepath.Join(dir, "probe.log")
	if arch != "aarch64" {
		disk := filepath.Join(dir, "probe.img")
		if err := writeProbeDisk(disk); err != nil {
			return nil, err
		}
		return &kvmProbe{
			args: []string{"-chardev", "file,id=seabios,path=" + log,
				"-device", "isa-debugcon,iobase=0x402,chardev=seabios",
				"-drive", "file=" + disk + ",format=raw,if=ide"},
			log:    log,
			proofs: [][]byte{[]byte(x86ProbeMarker)},
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

// writeProbeDisk writes the x86 boot sector as a 1 MiB raw disk: SeaBIOS
// does not boot a disk smaller than its controller's smallest geometry.
func writeProbeDisk(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(x86ProbeBootSector)
	if err == nil {
		err = f.Truncate(1 << 20)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// progress says how far the x86 probe guest came, from the letters it
// wrote after SeaBIOS jumped to it ("" when it never started).
func (p *kvmProbe) progress() string {
	out, _ := os.ReadFile(p.log)
	_, after, found := bytes.Cut(out, []byte("Booting from 0000:7c00\n"))
	if !found {
		if len(out) > 0 {
			return "its firmware had not yet booted the probe's disk"
		}
		return ""
	}
	var reached []string
	for _, s := range x86ProbeStages {
		if !bytes.Contains(after, []byte{s.letter}) {
			break
		}
		reached = append(reached, s.stage)
	}
	if len(reached) == 0 {
		return "the probe's boot sector started"
	}
	return "the probe guest reached " + strings.Join(reached, ", then ")
}

package qemu

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// update rewrites the golden argument lists from the code:
// go test ./internal/qemu -run TestArgsGolden -update
var update = flag.Bool("update", false, "rewrite testdata/args/*.golden from Args")

// goldenCase is one VM whose whole command line is kept in
// testdata/args/<name>.golden, one argument per line.
type goldenCase struct {
	name  string
	spec  Spec
	media Media
}

// goldenSpec and goldenMedia are a cloud-image build of arch under TCG:
// headless, BIOS (no EFI files), virtio disk and network, the seed.
func goldenSpec(arch string) Spec {
	spec := Spec{Name: "packer-golden", Arch: arch, MachineType: ArchByName(arch).Machine, CPUs: 2, MemoryMiB: 2048}
	spec.Hardware.MachineType = spec.MachineType
	return spec
}

func goldenMedia() Media {
	return Media{Accelerator: "tcg", Overlay: "/build/disk.qcow2", Seed: "/build/seed.iso", SSHHostPort: 3022,
		QMPSocket: "/tmp/packer-kvm-1/qmp.sock", SerialLog: "/build/serial.log", VNCDisplay: -1}
}

// withOVMF, withAAVMF: UEFI firmware as stepPrepareFirmware hands it over.
func withOVMF(m Media) Media {
	m.EFICode, m.EFIVars = "/usr/share/OVMF/OVMF_CODE_4M.fd", "/build/efivars.fd"
	return m
}

func withAAVMF(m Media) Media {
	m.EFICode, m.EFIVars = "/usr/share/AAVMF/AAVMF_CODE.fd", "/build/efivars.fd"
	return m
}

func goldenCases() []goldenCase {
	x86, arm := goldenSpec("x86_64"), goldenSpec("aarch64")
	cases := []goldenCase{
		{"x86_64-bios-default", x86, goldenMedia()},
		{"x86_64-uefi", x86, withOVMF(goldenMedia())},
		{"aarch64-uefi", arm, withAAVMF(goldenMedia())},
	}
	add := func(name string, base Spec, edit func(*Spec, *Media)) {
		spec, m := base, goldenMedia()
		if base.Arch == "aarch64" {
			m = withAAVMF(m)
		}
		edit(&spec, &m)
		cases = append(cases, goldenCase{name, spec, m})
	}
	add("x86_64-bios-kvm", x86, func(_ *Spec, m *Media) { m.Accelerator = "kvm" })
	add("aarch64-uefi-kvm", arm, func(_ *Spec, m *Media) { m.Accelerator = "kvm" })
	add("x86_64-uefi-secureboot", x86, func(s *Spec, m *Media) {
		s.Hardware.SecureBoot = true
		*m = withOVMF(*m)
		m.EFICode = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
	})
	add("x86_64-uefi-smm-descriptor-qcow2", x86, func(_ *Spec, m *Media) {
		m.EFICode, m.EFIVars = "/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2", "/build/efivars.qcow2"
		m.EFIFormats = [2]string{"qcow2", "qcow2"}
		m.EFISMM, m.EFISecure = true, true
	})
	add("x86_64-bios-sata-e1000", x86, func(s *Spec, _ *Media) {
		s.Hardware.DiskInterface, s.Hardware.NetDevice, s.Hardware.MACAddress = "sata", "e1000", "52-54-00-AB-CD-EF"
	})
	add("x86_64-bios-ide-pc-rtl8139", x86, func(s *Spec, _ *Media) {
		s.MachineType, s.Hardware.MachineType = "pc", "pc"
		s.Hardware.DiskInterface, s.Hardware.NetDevice = "ide", "rtl8139"
	})
	add("x86_64-bios-virtio-scsi-extra-disks", x86, func(s *Spec, m *Media) {
		s.Hardware.DiskInterface = "virtio-scsi"
		s.Hardware.DiskCache, s.Hardware.DiskDiscard, s.Hardware.DiskDetectZeroes = "none", "ignore", "off"
		m.AdditionalDisks = []string{"/build/disk-1.qcow2", "/build/disk-2.qcow2"}
	})
	add("x86_64-bios-nvme-extra-disk", x86, func(s *Spec, m *Media) {
		s.Hardware.DiskInterface = "nvme"
		m.AdditionalDisks = []string{"/build/data,1.qcow2"}
	})
	add("x86_64-uefi-tpm", x86, func(_ *Spec, m *Media) {
		*m = withOVMF(*m)
		m.TPMSocket = "/tmp/packer-kvm-tpm-1/swtpm.sock"
	})
	add("aarch64-uefi-tpm-vnc", arm, func(_ *Spec, m *Media) {
		m.TPMSocket = "/tmp/packer-kvm-tpm-1/swtpm.sock"
		m.VNCDisplay = 3
	})
	add("x86_64-bios-vnc", x86, func(s *Spec, m *Media) {
		s.VNC = true
		m.VNCDisplay = 1
	})
	add("x86_64-installer-iso-cd-seed-virtio-scsi", x86, func(s *Spec, m *Media) {
		s.CDROMInterface, s.VNC = "virtio-scsi", true
		m.VNCDisplay = 0
		m.Installer = InstallerMedia{Interface: "virtio-scsi", ISO: "/cache/installer.iso", CD: "/build/cd.iso"}
	})
	add("x86_64-installer-sata-floppy", x86, func(s *Spec, m *Media) {
		s.CDROMInterface = "sata"
		m.Seed = ""
		m.Installer = InstallerMedia{Interface: "sata", ISO: "/cache/windows.iso", CD: "/build/cd.iso", Floppy: "/build/floppy.img"}
	})
	// An installer typed over the serial console: no VNC display.
	add("x86_64-installer-serial-input", x86, func(s *Spec, m *Media) {
		s.CDROMInterface = "virtio-scsi"
		m.Seed = ""
		m.SerialSocket = "/tmp/packer-kvm-1/serial.sock"
		m.Installer = InstallerMedia{Interface: "virtio-scsi", ISO: "/cache/installer.iso"}
	})
	add("x86_64-bios-cpu-model-qemuargs", x86, func(s *Spec, _ *Media) {
		s.CPUModel = "Haswell"
		s.QemuArgs = [][]string{{"-device", "virtio-balloon"}, {"-smbios", "type=1,serial=golden"}}
	})
	add("x86_64-bios-bridge-mac", x86, func(s *Spec, m *Media) {
		s.Hardware.Bridge, s.Hardware.BridgeHelper = "br0", "/usr/lib/qemu/qemu-bridge-helper"
		s.Hardware.MACAddress = "52:54:00:12:34:56"
		m.SSHHostPort = 0
	})
	add("x86_64-uefi-bridge-e1000e-vnc", x86, func(s *Spec, m *Media) {
		s.Hardware.Bridge, s.Hardware.BridgeHelper = "lan-br", "/usr/libexec/qemu-bridge-helper"
		s.Hardware.NetDevice, s.Hardware.MACAddress = "e1000e", "52-54-00-AA-BB-CC"
		s.VNC = true
		*m = withOVMF(*m)
		m.SSHHostPort, m.VNCDisplay = 0, 2
	})
	return cases
}

// TestArgsGolden compares each case's whole command line with its golden
// file, so that a duplicated, dropped or reordered argument fails.
func TestArgsGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(Args(tc.spec, tc.media), "\n") + "\n"
			path := filepath.Join("testdata", "args", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v: write it with go test ./internal/qemu -run TestArgsGolden -update", err)
			}
			if got != string(want) {
				t.Errorf("the command line differs from %s (rerun with -update if the change is meant):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff says where want and got first part, enough to find a changed,
// missing or extra argument.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	at := func(lines []string, i int) string {
		if i < len(lines) {
			return strconv.Quote(lines[i])
		}
		return "(end)"
	}
	for i := 0; i < len(w) || i < len(g); i++ {
		if at(w, i) != at(g, i) {
			return fmt.Sprintf("argument %d: want %s, got %s (%d arguments wanted, %d got)", i+1, at(w, i), at(g, i), len(w)-1, len(g)-1)
		}
	}
	return ""
}

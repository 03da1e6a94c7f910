package boottest

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the golden argument lists from the code:
// go test ./internal/boottest -run TestArgsGolden -update
var update = flag.Bool("update", false, "rewrite testdata/args/*.golden from Args")

func goldenMedia(accel string) Media {
	return Media{Accelerator: accel, MemoryMiB: 1024, Overlay: "/t/overlay.qcow2", Seed: "/t/seed.iso",
		SerialLog: "/t/serial.log", QMPSocket: "/t/qmp.sock"}
}

// Each target's boot VM, whole, one argument per line in
// testdata/args/<name>.golden.
func TestArgsGolden(t *testing.T) {
	cases := map[string]struct {
		target TargetOptions
		media  Media
	}{
		"qcow2-bios":             {TargetOptions{Format: "qcow2"}, goldenMedia("tcg")},
		"raw-bios-kvm":           {TargetOptions{Format: "raw"}, goldenMedia("kvm")},
		"vmdk-bios":              {TargetOptions{Format: "vmdk"}, goldenMedia("tcg")},
		"ova-lsilogic-e1000":     {TargetOptions{Format: "ova", OVAController: "lsilogic", OVANIC: "e1000"}, goldenMedia("tcg")},
		"ova-sata-vmxnet3":       {TargetOptions{Format: "ova", OVAController: "sata", OVANIC: "vmxnet3"}, goldenMedia("tcg")},
		"ova-pvscsi-vmxnet3-efi": {TargetOptions{Format: "ova", OVAController: "pvscsi", OVANIC: "vmxnet3", Firmware: "efi"}, withEFI(goldenMedia("tcg"))},
		"vdi-bios":               {TargetOptions{Format: "vdi"}, goldenMedia("tcg")},
		"gce-uefi":               {TargetOptions{Format: "gce", Firmware: "uefi"}, withEFI(goldenMedia("tcg"))},
		"vhd-bios":               {TargetOptions{Format: "vhd"}, goldenMedia("tcg")},
		"vhdx-bios-pattern":      {TargetOptions{Format: "vhdx"}, withoutSeed(goldenMedia("tcg"))},
		"vhd-aarch64":            {TargetOptions{Format: "vhd", Arch: "aarch64"}, withEFI(goldenMedia("tcg"))},
		"qcow2-uefi-smm":         {TargetOptions{Format: "qcow2", Firmware: "uefi"}, withSMM(withEFI(goldenMedia("kvm")))},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := strings.Join(Args(ForTarget(c.target), c.media), "\n") + "\n"
			path := filepath.Join("testdata", "args", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Args differ from %s:\n--- got\n%s--- want\n%s", path, got, want)
			}
		})
	}
}

func withEFI(m Media) Media {
	m.EFICode, m.EFIVars = "/usr/share/OVMF/OVMF_CODE_4M.fd", "/t/efivars.fd"
	return m
}

func withSMM(m Media) Media {
	m.EFICode, m.EFIVars, m.EFIFormats, m.EFISMM = "/usr/share/edk2/OVMF_CODE.secboot.qcow2", "/t/efivars.qcow2", [2]string{"qcow2", "qcow2"}, true
	return m
}

func withoutSeed(m Media) Media {
	m.Seed = ""
	return m
}

// A comma in a file name is doubled, as QEMU's option syntax requires.
func TestArgs_commaInPathIsEscaped(t *testing.T) {
	m := goldenMedia("tcg")
	m.Overlay = "/t/a,b/overlay.qcow2"
	args := strings.Join(Args(ForTarget(TargetOptions{Format: "qcow2"}), m), " ")
	if !strings.Contains(args, "file=/t/a,,b/overlay.qcow2,if=none") {
		t.Errorf("the comma is not escaped: %s", args)
	}
}

package qemu

import (
	"strings"
	"testing"
)

func testMedia() Media {
	return Media{Accelerator: "tcg", Overlay: "/o/disk.qcow2", Seed: "/o/seed.iso", SSHHostPort: 3022,
		QMPSocket: "/tmp/q/qmp.sock", SerialLog: "/o/serial.log", VNCDisplay: -1}
}

func testSpec() Spec {
	return Spec{Name: "packer-base", MachineType: "q35", CPUs: 2, MemoryMiB: 2048}
}

func TestQemuArgs_safeHeadlessDefaults(t *testing.T) {
	cmdline := strings.Join(Args(testSpec(), testMedia()), " ")
	for _, want := range []string{
		"hostfwd=tcp:127.0.0.1:3022-:22", // loopback only
		"-display none",
		"-accel tcg -cpu max",
		"-smp 2 -m 2048M",
		"-qmp unix:/tmp/q/qmp.sock,server=on,wait=off",
		"file=/o/seed.iso,if=none,id=seed,format=raw,readonly=on",
		"discard=unmap",
	} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	for _, unwanted := range []string{"-vnc", "pflash", "hostfwd=tcp::"} {
		if strings.Contains(cmdline, unwanted) {
			t.Errorf("command line has %q by default:\n%s", unwanted, cmdline)
		}
	}
}

func TestQemuArgs_kvmUsesTheHostCPUUnlessTold(t *testing.T) {
	m := testMedia()
	m.Accelerator = "kvm"
	if cmdline := strings.Join(Args(testSpec(), m), " "); !strings.Contains(cmdline, "-accel kvm -cpu host") {
		t.Fatalf("want -cpu host under KVM: %s", cmdline)
	}
	spec := testSpec()
	spec.CPUModel = "Haswell"
	if cmdline := strings.Join(Args(spec, m), " "); !strings.Contains(cmdline, "-cpu Haswell") {
		t.Fatalf("cpu_model ignored: %s", cmdline)
	}
}

func TestQemuArgs_uefiVNCAndExtraArgs(t *testing.T) {
	spec := testSpec()
	spec.QemuArgs = [][]string{{"-device", "virtio-balloon"}}
	m := testMedia()
	m.EFICode, m.EFIVars, m.VNCDisplay = "/usr/share/OVMF/OVMF_CODE_4M.fd", "/o/vars.fd", 3
	cmdline := strings.Join(Args(spec, m), " ")
	for _, want := range []string{
		"if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
		"if=pflash,format=raw,unit=1,file=/o/vars.fd",
		"-vnc 127.0.0.1:3",
	} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	if !strings.HasSuffix(cmdline, "-device virtio-balloon") {
		t.Errorf("qemuargs must come last so they can override: %s", cmdline)
	}
}

func TestQemuArgs_aarch64TakesItsCPUAndDisplayFromTheArchTable(t *testing.T) {
	spec := testSpec()
	spec.Arch, spec.MachineType = "aarch64", ArchAArch64.Machine
	m := testMedia()
	m.VNCDisplay = 1
	cmdline := strings.Join(Args(spec, m), " ")
	for _, want := range []string{"-machine virt,gic-version=max,highmem=on", "-accel tcg -cpu max,pauth-impdef=on", "-device ramfb -display none -vnc 127.0.0.1:1"} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	if strings.Contains(cmdline, "-vga") || strings.Contains(cmdline, "isa-") {
		t.Errorf("the virt board has no VGA or ISA bus:\n%s", cmdline)
	}
	m.Accelerator = "kvm"
	if cmdline := strings.Join(Args(spec, m), " "); !strings.Contains(cmdline, "-accel kvm -cpu host") {
		t.Errorf("want -cpu host under KVM: %s", cmdline)
	}
}

func TestQemuArgs_firmwareFormatsAndSMM(t *testing.T) {
	m := testMedia()
	m.EFICode, m.EFIVars = "/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2", "/o/efivars.qcow2"
	m.EFIFormats = [2]string{"qcow2", "qcow2"}
	m.EFISMM, m.EFISecure = true, true
	cmdline := strings.Join(Args(testSpec(), m), " ")
	for _, want := range []string{
		"if=pflash,format=qcow2,unit=0,readonly=on,file=/usr/share/edk2/ovmf/OVMF_CODE_4M.secboot.qcow2",
		"if=pflash,format=qcow2,unit=1,file=/o/efivars.qcow2",
		"-machine smm=on", "-global driver=cfi.pflash01,property=secure,value=on",
	} {
		if !strings.Contains(cmdline, want) {
			t.Errorf("command line lacks %q:\n%s", want, cmdline)
		}
	}
	m.EFISecure = false
	if cmdline := strings.Join(Args(testSpec(), m), " "); !strings.Contains(cmdline, "-machine smm=on") || strings.Contains(cmdline, "cfi.pflash01") {
		t.Errorf("SMM without secure vars:\n%s", cmdline)
	}
}

package kvm

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

func testMedia() bootMedia {
	return bootMedia{Accelerator: "tcg", Overlay: "/o/disk.qcow2", Seed: "/o/seed.iso", SSHHostPort: 3022,
		QMPSocket: "/tmp/q/qmp.sock", SerialLog: "/o/serial.log", VNCDisplay: -1}
}

func testSpec() vmSpec {
	return vmSpec{Name: "packer-base", MachineType: "q35", CPUs: 2, MemoryMiB: 2048}
}

func TestQemuArgs_safeHeadlessDefaults(t *testing.T) {
	cmdline := strings.Join(qemuArgs(testSpec(), testMedia()), " ")
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
	if cmdline := strings.Join(qemuArgs(testSpec(), m), " "); !strings.Contains(cmdline, "-accel kvm -cpu host") {
		t.Fatalf("want -cpu host under KVM: %s", cmdline)
	}
	spec := testSpec()
	spec.CPUModel = "Haswell"
	if cmdline := strings.Join(qemuArgs(spec, m), " "); !strings.Contains(cmdline, "-cpu Haswell") {
		t.Fatalf("cpu_model ignored: %s", cmdline)
	}
}

func TestQemuArgs_uefiVNCAndExtraArgs(t *testing.T) {
	spec := testSpec()
	spec.QemuArgs = [][]string{{"-device", "virtio-balloon"}}
	m := testMedia()
	m.EFICode, m.EFIVars, m.VNCDisplay = "/usr/share/OVMF/OVMF_CODE_4M.fd", "/o/vars.fd", 3
	cmdline := strings.Join(qemuArgs(spec, m), " ")
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

func TestStepRunVM_startsAndAlwaysStopsQEMU(t *testing.T) {
	state, driver := testState(t)
	dir := t.TempDir()
	keyWorkDir.Put(state, dir)
	keyAccelerator.Put(state, "tcg")
	keyOverlayPath.Put(state, dir+"/disk.qcow2")
	keySeedPath.Put(state, dir+"/seed.iso")
	keySSHHostPort.Put(state, 2999)
	step := &stepRunVM{Spec: testSpec()}
	if action := step.Run(context.Background(), state); action != multistep.ActionContinue {
		t.Fatalf("halted: %v", stateErr(state))
	}
	if !strings.Contains(strings.Join(driver.StartArgs, " "), "hostfwd=tcp:127.0.0.1:2999-:22") {
		t.Fatalf("the reserved port was not forwarded: %v", driver.StartArgs)
	}
	if keySerialLog.Get(state) != dir+"/serial.log" {
		t.Fatalf("serial log %v, want it in the work dir", keySerialLog.Get(state))
	}
	step.Cleanup(state)
	if driver.VM.StopCalls != 1 {
		t.Fatal("Cleanup did not stop QEMU")
	}
}

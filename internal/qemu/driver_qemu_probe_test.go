package qemu

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The probe's empty machines must print under any accelerator; TCG shows
// on any host that each one runs and is seen running, so that on a host
// with a working KVM the probe succeeds for the right reason.
func TestKVMProbe_emptyMachinePrintsWhenItRuns(t *testing.T) {
	for _, spec := range []Arch{ArchX8664, ArchAArch64} {
		t.Run(spec.Name, func(t *testing.T) {
			if _, err := exec.LookPath(spec.QemuBinary); err != nil {
				t.Skipf("%s is not installed", spec.QemuBinary)
			}
			probe, err := newKVMProbe(spec.Name, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"-accel", "tcg", "-machine", spec.Machine, "-cpu", "max", "-m", "128",
				"-nodefaults", "-display", "none", "-no-user-config"}, probe.args...)
			cmd := exec.Command(spec.QemuBinary, args...)
			out := &lockedBuffer{}
			cmd.Stderr = out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() { cmd.Process.Kill(); <-exited }()
			deadline := time.After(30 * time.Second)
			for !probe.ran() {
				select {
				case err := <-exited:
					exited <- err
					t.Fatalf("QEMU exited (%v): %s", err, out.String())
				case <-deadline:
					t.Fatalf("the %s probe machine printed nothing in 30s; QEMU said: %s", spec.Name, out.String())
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
}

// The embedded boot sector is what GNU as makes of kvmprobe/x86_64.S: an
// independent assembler checks the bytes the probe runs.
func TestX86ProbeBootSector_isTheAssembledSource(t *testing.T) {
	for _, tool := range []string{"as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s (binutils) is not installed", tool)
		}
	}
	dir := t.TempDir()
	obj, bin := filepath.Join(dir, "probe.o"), filepath.Join(dir, "probe.bin")
	for _, args := range [][]string{
		{"as", "--32", "-o", obj, "kvmprobe/x86_64.S"},
		{"ld", "-m", "elf_i386", "-Ttext=0x7c00", "--oformat=binary", "-o", bin, obj},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	got, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, x86ProbeBootSector) {
		t.Fatalf("kvmprobe/x86_64.bin is not the assembled kvmprobe/x86_64.S: reassemble it (command in the .S file)")
	}
	if len(got) != 512 || got[510] != 0x55 || got[511] != 0xaa {
		t.Fatalf("not a 512-byte boot sector with its 0x55AA signature: %d bytes", len(got))
	}
}

// Under TCG the x86 probe guest passes every stage, in order, so a host
// whose probe stops early is told exactly where.
func TestKVMProbe_x86GuestReachesEveryStage(t *testing.T) {
	if _, err := exec.LookPath(ArchX8664.QemuBinary); err != nil {
		t.Skipf("%s is not installed", ArchX8664.QemuBinary)
	}
	for _, machine := range []string{"q35", "pc"} {
		t.Run(machine, func(t *testing.T) {
			probe, err := newKVMProbe("x86_64", t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"-accel", "tcg", "-machine", machine, "-cpu", "max", "-m", "128",
				"-nodefaults", "-display", "none", "-no-user-config"}, probe.args...)
			cmd := exec.Command(ArchX8664.QemuBinary, args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			deadline := time.Now().Add(30 * time.Second)
			for !probe.ran() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			want := "the probe guest reached real mode, then protected mode with string I/O, then MMIO string moves and an interrupt return, then a BIOS disk read back in real mode, then long mode with paging"
			if got := probe.progress(); !probe.ran() || got != want {
				t.Fatalf("ran %v, progress %q, want %q", probe.ran(), got, want)
			}
		})
	}
}

func TestKVMProbe_progressSaysHowFarTheGuestCame(t *testing.T) {
	cases := map[string]string{
		"SeaBIOS...\nBooting from Hard Disk...\n": "its firmware had not yet booted the probe's disk",
		"":                             "",
		"Booting from 0000:7c00\n":     "the probe's boot sector started",
		"Booting from 0000:7c00\nRP":   "the probe guest reached real mode, then protected mode with string I/O",
		"Booting from 0000:7c00\nRPIB": "the probe guest reached real mode, then protected mode with string I/O, then MMIO string moves and an interrupt return, then a BIOS disk read back in real mode",
	}
	for log, want := range cases {
		dir := t.TempDir()
		p := &kvmProbe{log: filepath.Join(dir, "probe.log")}
		if err := os.WriteFile(p.log, []byte(log), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := p.progress(); got != want {
			t.Errorf("log %q: progress %q, want %q", log, got, want)
		}
	}
}

func TestKVMErrorSummary_oneLineOfWhatFailed(t *testing.T) {
	cases := map[string]string{
		"qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n": "error: failed to set MSR 0x10a to 0x69",
		"KVM internal error. Suberror: 1\nextra data[0]: 0x0000000000000001\nemulation failure\nEAX=001000cc EBX=3e896766\n":                                                                       "KVM internal error. Suberror: 1; emulation failure",
		"Could not access KVM kernel module: No such file or directory\nqemu-system-x86_64: failed to initialize kvm: No such file or directory\n":                                                 "Could not access KVM kernel module: No such file or directory; failed to initialize kvm: No such file or directory",
		"qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\n":                                                                                         "",
	}
	for in, want := range cases {
		if got := kvmErrorSummary(in); got != want {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
}
